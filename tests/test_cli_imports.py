"""`stix --help` must stay fast: it may not import pulumi, cloud SDKs, SSH, the catalog or
the server.

(pydantic is allowed: typer itself uses it to coerce parameters.)"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "pulumi_kubernetes",
         "boto3", "botocore", "google", "azure", "kubernetes", "asyncssh", "jinja2",
         "stix.catalog", "stix.optimizer", "stix.program", "stix.stack",
         # the stix server and its client (stix.server.settings is a plain pydantic model)
         "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "httpx", "psycopg",
         "stix.server.app", "stix.server.controller", "stix.server.db", "stix.server.client",
         "stix.managed")

PROBE = """
import json, sys
sys.argv = ["stix", *sys.argv[1:]]
from stix.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_modules(*args: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         timeout=60)
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


def _heavy(mods: set[str]) -> list[str]:
    return sorted(m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_help_imports_nothing_heavy() -> None:
    mods = loaded_modules("--help")
    assert "stix.cli" in mods
    assert _heavy(mods) == []


def test_version_imports_nothing_heavy() -> None:
    assert _heavy(loaded_modules("--version")) == []


def test_subcommand_help_imports_nothing_heavy() -> None:
    assert _heavy(loaded_modules("validate", "--help")) == []


def test_status_imports_no_cloud_sdk_or_engine() -> None:
    mods = loaded_modules("status")
    assert "stix.state" in mods  # it really ran
    assert _heavy(mods) == []
