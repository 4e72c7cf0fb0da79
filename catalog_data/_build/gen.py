"""Writes catalog_data/<cloud>/vms.csv and images.csv from each cloud's snapshot facts
(`stix/clouds/<cloud>/snapshot.py`, expanded by `stix.catalog.snapshot`).

    python catalog_data/_build/gen.py           # rewrite the CSVs
    python catalog_data/_build/gen.py --check   # exit 1 if the CSVs differ from the facts

Not part of the stix package: the CSVs are the artifact; this keeps them reproducible.
Everything is deterministic (spot prices come from a hash, not a random generator).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT.parent))
    from stix.catalog.snapshot import main

    sys.exit(main(ROOT, sys.argv[1:]))
