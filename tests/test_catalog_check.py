"""`stix catalog check`: suspect rows are found when a file is parsed, kept out of
decisions unless pinned, and listed by the command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stix.catalog.loader import clear_cache, load_catalog
from stix.catalog.schema import COLUMNS
from stix.optimizer import optimize
from stix.task import parse_tasks

REPO = Path(__file__).resolve().parent.parent


def _write(root: Path, cloud: str, rows: list[str]) -> None:
    (root / cloud).mkdir(parents=True, exist_ok=True)
    body = "\n".join(f"{r},observed,{'observed' if r.split(',')[9] else 'none'},2026-05-12"
                     for r in rows)
    (root / cloud / "vms.csv").write_text(",".join(COLUMNS) + "\n" + body + "\n")


def _azure(tmp_path: Path) -> Path:
    # One size at $0.09/h in one region where every other region charges >= $0.46.
    rows = [f"Standard_D8s_v5,8,32,,0,,{region},,{price},{spot},x86_64"
            for region, price, spot in (("eastus", 0.46, 0.1), ("westus2", 0.46, 0.1),
                                        ("westeurope", 0.52, 0.11), ("centralindia", 0.09, 0.02),
                                        ("japaneast", 0.58, 0.12))]
    rows += ["Standard_D4s_v5,4,16,,0,,eastus,,0.192,0.3,x86_64",  # spot above on-demand
             "Standard_E4s_v5,4,16,,0,,eastus,,0.252,0.05,x86_64",  # E4s_v5 has 32 GiB
             "Standard_F4s_v2,4,8,,0,,eastus,,0.169,0.03,x86_64",
             "Standard_F4s_v2,4,8,,0,,eastus,,0.170,0.03,x86_64"]  # duplicate key
    _write(tmp_path, "azure", rows)
    clear_cache()
    return tmp_path


def test_suspects_are_found_with_their_reason(tmp_path: Path) -> None:
    cat = load_catalog(_azure(tmp_path))
    reasons = {(o.instance_type, o.region): o.suspect for o in cat.offers if o.suspect}
    assert reasons[("Standard_D8s_v5", "centralindia")] == (
        "on-demand $0.09/h is far below its other regions (median $0.49/h)")
    assert reasons[("Standard_D4s_v5", "eastus")] == "spot $0.3/h is above on-demand $0.192/h"
    assert reasons[("Standard_E4s_v5", "eastus")] == (
        "Standard_E4s_v5 has 32 GiB, the row says 16")
    assert reasons[("Standard_F4s_v2", "eastus")].startswith("duplicate key (2 rows")
    assert len(reasons) == 4


def test_a_bad_row_cannot_decide_unless_pinned(tmp_path: Path) -> None:
    cat = load_catalog(_azure(tmp_path))
    task = parse_tasks("resources: {cpus: 8}").tasks[0]
    chosen = optimize(task, cat).chosen
    assert (chosen.instance_type, chosen.region, chosen.hourly_price) == (
        "Standard_D8s_v5", "eastus", 0.46)
    pinned = parse_tasks("resources: {infra: azure/centralindia, "
                         "instance_type: Standard_D8s_v5}").tasks[0]
    assert optimize(pinned, cat).chosen.region == "centralindia"


def test_check_command_lists_them_and_exits_1(tmp_path: Path) -> None:
    _azure(tmp_path)
    env = {**os.environ, "STIX_CATALOG_DIR": str(tmp_path), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "stix", "catalog", "check"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert ("suspect azure centralindia Standard_D8s_v5: on-demand $0.09/h is far below its "
            "other regions") in done.stderr
    assert "Traceback" not in done.stderr
    shipped = subprocess.run([sys.executable, "-m", "stix", "catalog", "check"], cwd=REPO,
                             env={k: v for k, v in env.items() if k != "STIX_CATALOG_DIR"},
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert shipped.returncode == 0 and "none suspect" in shipped.stdout


def test_gcp_import_keeps_list_prices_over_flex_start_rows() -> None:
    from collections import Counter

    from stix.catalog.skypilot import SkyRow
    from stix.clouds.gcp.skypilot import convert

    def row(price: float) -> SkyRow:
        return SkyRow(1, "n2-standard-8", 8, 32, None, 0, None, "us-central1", "us-central1-a",
                      price, None, "x86_64")

    skipped: Counter[str] = Counter()
    offers = convert([row(0.39), row(0.18)], skipped)
    assert [o.price for o in offers] == [0.39]
    assert sum(skipped.values()) == 1 and "Flex-start/DWS" in next(iter(skipped))
