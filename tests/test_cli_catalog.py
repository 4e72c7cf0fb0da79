"""`stix catalog ...` and `stix show-gpus` as a user runs them: real `python -m stix`
processes, exit codes, output, and no tracebacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
SKY = Path(__file__).parent / "fixtures" / "skypilot_catalog"


def stix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stix", *args], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("catalog") / "cat"
    done = stix("catalog", "import", "skypilot", str(SKY), "--out", str(out))
    assert done.returncode == 1, done.stderr  # the fixture holds bad rows on purpose
    return out


def test_import_reports_rows_skips_and_bad_rows(tmp_path: Path) -> None:
    out = tmp_path / "cat"
    done = stix("catalog", "import", "skypilot", str(SKY), "--out", str(out))
    # Rows were skipped as bad: the import says so per reason and exits non-zero.
    assert done.returncode == 1, done.stderr
    assert "1 unreadable rows: Price: … is not a number" in done.stderr
    assert "aws: 10 rows" in done.stdout and "gcp: 17 rows" in done.stdout
    assert "skipped 1: TPU (not supported by stix yet)" in done.stdout
    assert f"export STIX_CATALOG_DIR={out}" in done.stdout
    assert "skypilot_catalog/aws/vms.csv:11: Price: 'abc' is not a number" in done.stderr
    assert "Traceback" not in done.stderr
    # The imported clouds get their boot images; nothing else is copied in.
    for cloud in ("aws", "gcp", "azure"):
        assert (out / cloud / "images.csv").is_file()


def test_import_never_mixes_in_another_catalogs_rows(tmp_path: Path) -> None:
    out = tmp_path / "cat"
    done = stix("catalog", "import", "skypilot", str(SKY), "--cloud", "gcp", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.parent.name for p in out.glob("*/vms.csv")) == ["gcp"]
    assert not (out / "aws").exists() and not (out / "azure").exists()
    assert "the import holds no aws, azure, " in done.stdout  # and the other served clouds


def test_import_json(tmp_path: Path) -> None:
    done = stix("catalog", "import", "skypilot", str(SKY), "--out", str(tmp_path / "c"),
                "--cloud", "gcp", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["written"] == {"gcp": 17}
    assert doc["skipped"]["no host machine for A100:2 in its zone"] == 1


def test_import_default_out_is_the_users_catalog(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = stix("catalog", "import", "skypilot", str(SKY), "--cloud", "azure",
                env={"STIX_HOME": str(home)})  # fmt: skip
    assert done.returncode == 1, done.stderr  # one unreadable azure row
    assert (home / "catalog" / "azure" / "vms.csv").is_file()
    target = tmp_path / "mine"
    done = stix("catalog", "import", "skypilot", str(SKY), "--cloud", "azure",
                env={"STIX_CATALOG_DIR": str(target)})  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert (target / "azure" / "vms.csv").is_file()
    assert "export STIX_CATALOG_DIR" not in done.stdout  # already the catalog in use


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [(("catalog", "import", "terraform", "x"), 2, "unknown format (supported: skypilot)"),
     (("catalog", "import", "skypilot", "/no/such/dir"), 3, "no such directory"),
     (("catalog", "import", "skypilot", str(SKY), "--cloud", "ibm"), 2, "cannot import cloud"),
     (("catalog", "update", "--cloud", "ibm"), 2, "clouds (--cloud) ibm: stix updates")],
)  # fmt: skip
def test_errors_are_messages(args: tuple[str, ...], code: int, message: str,
                             tmp_path: Path) -> None:  # fmt: skip
    done = stix(*args, env={"STIX_HOME": str(tmp_path)})
    assert done.returncode == code, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_show(imported: Path) -> None:
    env = {"STIX_CATALOG_DIR": str(imported)}
    doc = json.loads(stix("catalog", "show", "--json", env=env).stdout)
    assert doc["directory"] == str(imported) and doc["bad_rows"] == []
    by_cloud = {c["cloud"]: c for c in doc["clouds"]}
    assert by_cloud["gcp"]["rows"] == 17
    assert by_cloud["gcp"]["accelerators"] == ["A100", "L4", "T4", "V100"]
    assert by_cloud["azure"]["zones"] == 0
    assert by_cloud["aws"]["source"].startswith("skypilot catalog")
    table = stix("catalog", "show", "--cloud", "gcp", env=env)
    assert table.returncode == 0 and "gcp" in table.stdout and "azure" not in table.stdout
    bad = stix("catalog", "show", "--cloud", "lambda", env=env)
    assert bad.returncode == 2 and "not in the catalog" in bad.stderr


def test_show_reports_bad_rows(tmp_path: Path) -> None:
    folder = tmp_path / "aws"
    folder.mkdir()
    (folder / "vms.csv").write_text(
        "instance_type,vcpus,memory_gib,accelerator,accelerator_count,accelerator_memory_gib,"
        "region,zone,price,spot_price,arch\n"
        "m5.large,2,8,,0,,us-east-1,us-east-1a,0.096,,x86_64\n"
        "m5.xlarge,4,16,,0,,us-east-1,us-east-1a,cheap,,x86_64\n")
    done = stix("catalog", "show", env={"STIX_CATALOG_DIR": str(tmp_path)})
    assert done.returncode == 0
    assert f"bad row {folder / 'vms.csv'}:3: price: 'cheap' is not a number" in done.stderr


def test_show_gpus_summary_and_detail(imported: Path) -> None:
    env = {"STIX_CATALOG_DIR": str(imported)}
    table = stix("show-gpus", env=env)
    assert table.returncode == 0, table.stderr
    for name in ("A100", "A100-80GB", "A10G", "H100", "L4", "T4", "V100"):
        assert name in table.stdout
    summary = {s["name"]: s for s in json.loads(stix("show-gpus", "--json", env=env).stdout)}
    assert summary["T4"]["clouds"] == ["aws", "azure", "gcp"]
    assert summary["T4"]["counts"] == [1.0, 2.0]
    rows = json.loads(stix("show-gpus", "A100:1", "--json", env=env).stdout)
    assert [(r["cloud"], r["instance_type"]) for r in rows] == [("gcp", "a2-highgpu-1g")]
    assert rows[0]["price"] == pytest.approx(3.682499)
    t4 = json.loads(stix("show-gpus", "t4", "--cloud", "gcp", "--region", "us-central1",
                         "--json", env=env).stdout)  # fmt: skip
    assert [r["instance_type"] for r in t4][:2] == ["n1-standard-4", "n1-standard-8"]
    assert [r["price"] for r in t4] == sorted(r["price"] for r in t4)
    detail = stix("show-gpus", "A100", env=env)
    assert "a2-highgpu-1g" in detail.stdout and "p4d.24xlarge" in detail.stdout
    everything = json.loads(stix("show-gpus", "--all", "--json", env=env).stdout)
    assert {r["accelerator"] for r in everything} == set(summary)


def test_show_gpus_errors(imported: Path) -> None:
    env = {"STIX_CATALOG_DIR": str(imported)}
    unknown = stix("show-gpus", "A1000", env=env)
    assert unknown.returncode == 3 and "did you mean A100" in unknown.stderr
    count = stix("show-gpus", "H100:16", env=env)
    assert count.returncode == 3 and "H100:16 is not offered; offered: H100:8" in count.stderr
    bad = stix("show-gpus", "A100:many", env=env)
    assert bad.returncode == 2 and "count of A100" in bad.stderr
    assert "Traceback" not in unknown.stderr + count.stderr + bad.stderr


def test_update_gcp_without_key_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "STIX_GCP_API_KEY")}
    done = subprocess.run(
        [sys.executable, "-m", "stix", "catalog", "update", "--cloud", "gcp", "--out",
         str(tmp_path / "c")], cwd=REPO, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 4
    assert "needs an API key" in done.stderr and "GOOGLE_API_KEY" in done.stderr
    assert not (tmp_path / "c").exists()


def test_update_network_failure_names_the_source(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a proxy port nobody listens on: fails fast, offline
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proxy = f"http://127.0.0.1:{port}"
    done = stix("catalog", "update", "--cloud", "azure", "--out", str(tmp_path / "c"),
                env={"https_proxy": proxy, "HTTPS_PROXY": proxy, "no_proxy": ""})  # fmt: skip
    assert done.returncode == 1
    assert "cannot fetch https://prices.azure.com/api/retail/prices" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "c").exists()


def test_help_does_not_load_the_catalog() -> None:
    from test_cli_imports import loaded_modules

    for args in (("show-gpus", "--help"), ("catalog", "--help"), ("catalog", "update", "--help")):
        mods = loaded_modules(*args)
        assert not [m for m in mods if m.startswith("stix.catalog")], args


def test_show_says_the_shipped_snapshot_is_estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STIX_CATALOG_DIR", raising=False)
    done = stix("catalog", "show", env={k: v for k, v in os.environ.items()
                                        if k != "STIX_CATALOG_DIR"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "the shipped snapshot" in done.stdout and "2026-11" in done.stdout
    assert "spot prices are estimated, not observed" in done.stdout
    doc = json.loads(stix("catalog", "show", "--json", env={
        k: v for k, v in os.environ.items() if k != "STIX_CATALOG_DIR"}).stdout)
    aws = next(c for c in doc["clouds"] if c["cloud"] == "aws")
    assert aws["prices"] == {"estimated": aws["rows"]} and aws["suspects"] == 0
    assert aws["newest"] == "2026-11"
