"""Nebius around its program: the price fetcher on recorded API answers, the credential
check (no network), failover classification of Nebius's gRPC errors, the shipped
snapshot's facts, and `up --engine terraform` refusing a Nebius stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stix.catalog import load_catalog
from stix.clouds import registry

FIXTURES = Path(__file__).parent / "fixtures" / "nebius"


class Recorded:
    """`stix.clouds.nebius.prices.Api` answering from tests/fixtures/nebius/."""

    def __init__(self) -> None:
        self.projects_ = json.loads((FIXTURES / "projects.json").read_text())
        self.platforms_ = json.loads((FIXTURES / "platforms.json").read_text())
        self.estimates = json.loads((FIXTURES / "estimates.json").read_text())
        self.asked: list[tuple[str, str, bool]] = []

    def projects(self) -> list[dict[str, Any]]:
        return self.projects_

    def platforms(self, parent_id: str) -> list[dict[str, Any]]:
        return self.platforms_.get(parent_id, [])

    def estimate(self, parent_id: str, platform: str, preset: str,
                 preemptible: bool) -> dict[str, Any]:
        self.asked.append((parent_id, f"{platform}_{preset}", preemptible))
        key = f"{platform}_{preset}" + (":preemptible" if preemptible else "")
        return self.estimates.get(key, {})


def test_fetch_prices_every_preset_of_every_region_the_account_has() -> None:
    from stix.clouds.nebius.prices import fetch

    api = Recorded()
    result = fetch(api, load_catalog(clouds=["nebius"]))
    rows = {(o.instance_type, o.region): o for o in result.offers}
    assert sorted(rows) == [
        ("cpu-d3_4vcpu-16gb", "eu-north1"), ("cpu-d3_8vcpu-32gb", "eu-north1"),
        ("gpu-b200-sxm_8gpu-160vcpu-1792gb", "us-central1"),
        ("gpu-h100-sxm_1gpu-16vcpu-200gb", "eu-north1"),
        ("gpu-h100-sxm_8gpu-128vcpu-1600gb", "eu-north1")]
    h100 = rows[("gpu-h100-sxm_8gpu-128vcpu-1600gb", "eu-north1")]
    assert (h100.vcpus, h100.memory_gib, h100.accelerator, h100.accelerator_count) == (
        128, 1600, "H100", 8)
    assert (h100.price, h100.spot_price, h100.accelerator_memory_gib, h100.zone) == (
        23.6, 10.0, 80, None)
    assert (h100.price_source, h100.spot_origin) == ("observed", "observed")
    cpu = rows[("cpu-d3_4vcpu-16gb", "eu-north1")]
    # a preemptible estimate equal to on demand is no preemptible market: dropped
    assert (cpu.price, cpu.spot_price, cpu.spot_origin, cpu.accelerator) == (
        0.0992, None, "none", None)
    assert rows[("gpu-b200-sxm_8gpu-160vcpu-1792gb", "us-central1")].spot_price is None
    assert result.skipped == {
        "platform stix has no accelerator name for": 1,
        "preset without a name, vCPUs or memory": 1,
        "preemptible price not below on demand (no preemptible market)": 2}
    # each region's platforms are priced in its public-images project
    assert {parent for parent, _, _ in api.asked} == {"project-e00public-images",
                                                      "project-u00public-images"}
    assert ("project-e00public-images", "gpu-h100-sxm_1gpu-16vcpu-200gb", True) in api.asked
    assert ("project-u00public-images", "gpu-b200-sxm_8gpu-160vcpu-1792gb", True) in api.asked


def test_fetch_prices_for_some_regions() -> None:
    from stix.clouds.nebius.prices import fetch

    result = fetch(Recorded(), load_catalog(clouds=["nebius"]), regions=["us-central1"])
    assert {o.region for o in result.offers} == {"us-central1"}


def test_an_account_without_projects_is_a_fetch_error() -> None:
    from stix.catalog.update import FetchError
    from stix.clouds.nebius.prices import fetch

    api = Recorded()
    api.projects_ = []
    with pytest.raises(FetchError, match="no project"):
        fetch(api, load_catalog(clouds=["nebius"]))


def test_catalog_update_writes_observed_nebius_rows(tmp_path: Path) -> None:
    from stix.catalog.update import updatable_clouds, update_catalog

    assert "nebius" in updatable_clouds()
    done = update_catalog(["nebius"], tmp_path, opener=Recorded())  # type: ignore[arg-type]
    written = load_catalog(tmp_path, clouds=["nebius"]).for_cloud("nebius")
    assert written and {o.price_source for o in written} == {"observed"}
    assert done.results[0].cloud == "nebius"


def test_without_the_sdk_the_fetch_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.catalog.update import CredentialsError
    from stix.clouds.nebius.prices import SdkApi

    monkeypatch.setitem(sys.modules, "nebius.sdk", None)
    with pytest.raises(CredentialsError, match="nebius Python SDK") as err:
        SdkApi()
    assert "pip install nebius" in (err.value.hint or "")


# ---- the shipped snapshot ---------------------------------------------------------------------


def test_snapshot_sells_the_published_presets_where_nebius_does() -> None:
    offers = load_catalog(clouds=["nebius"]).for_cloud("nebius")
    by_region: dict[str, set[str]] = {}
    for o in offers:
        by_region.setdefault(o.region, set()).add(o.accelerator or "CPU")
    assert by_region == {"eu-north1": {"CPU", "H100", "H200", "L40S"},
                         "eu-west1": {"CPU", "H200"}, "us-central1": {"CPU", "H200", "B200"}}
    spot = {o.instance_type.split("_")[0] for o in offers if o.spot_price is not None}
    assert spot == {"gpu-h100-sxm", "gpu-h200-sxm"}
    h200 = next(o for o in offers if o.instance_type == "gpu-h200-sxm_1gpu-16vcpu-200gb")
    assert (h200.price, h200.spot_price) == (3.5, 1.45)
    assert all(o.zone is None for o in offers)


# ---- credentials -----------------------------------------------------------------------------


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NEBIUS_IAM_TOKEN", raising=False)
    return tmp_path


def test_no_credentials_says_how_to_set_them_up(home: Path) -> None:
    status = registry.cloud("nebius").check_credentials()
    assert not status.ok and "nebius profile create" in (status.hint or "")
    assert "NEBIUS_IAM_TOKEN" in status.detail


def test_cli_profile_and_its_project(home: Path) -> None:
    (home / ".nebius").mkdir()
    (home / ".nebius" / "config.yaml").write_text(
        "default: work\nprofiles:\n  work:\n    endpoint: api.nebius.cloud\n"
        "    parent-id: project-e00abc\n    auth-type: federation\n")
    status = registry.cloud("nebius").check_credentials()
    assert status.ok and "profile 'work'" in status.detail and "project-e00abc" in status.detail


def test_a_token_in_the_environment_wins(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEBIUS_IAM_TOKEN", "t1.abc")
    status = registry.cloud("nebius").check_credentials()
    assert status.ok and status.sources == ["env NEBIUS_IAM_TOKEN"]


def test_verify_without_the_cli_says_what_to_install(home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEBIUS_IAM_TOKEN", "t1.abc")
    monkeypatch.setenv("PATH", str(home))
    status = registry.cloud("nebius").check_credentials(verify=True)
    assert not status.ok and "not installed" in status.detail and status.hint


# ---- failover --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind"), [
    ("creating instance: rpc error: code = ResourceExhausted desc = NOT_ENOUGH_RESOURCES: "
     "no capacity of platform gpu-h100-sxm in eu-north1", "capacity"),
    ("operation failed: RESOURCE_EXHAUSTED: not enough resources for the requested preset",
     "capacity"),
    ("rpc error: code = ResourceExhausted desc = not enough resources for preemptible "
     "instances of gpu-h200-sxm", "spot"),
    ("rpc error: code = ResourceExhausted desc = quota exceeded for compute.gpu.h100 "
     "(limit 8)", "quota"),
    ("some step\nRESOURCE_EXHAUSTED: quota compute.instances exceeded", "quota"),
    ("rpc error: code = Unauthenticated desc = token is expired", "credentials"),
    ("PERMISSION_DENIED: the account cannot create compute.instance in project-e00abc",
     "credentials"),
])
def test_nebius_grpc_errors_are_classified(text: str, kind: str) -> None:
    from stix.engine.errors import classify

    assert classify(text, "nebius") == kind


# ---- Terraform -------------------------------------------------------------------------------


def test_up_with_the_terraform_engine_refuses_a_nebius_stack(tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text("resources:\n  infra: nebius\n  cpus: 2\nrun: echo\n")
    env = {**os.environ, "HOME": str(tmp_path), "STIX_CATALOG_REFRESH_HOURS": "0"}

    def stix(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stix", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    assert stix("init").returncode == 0
    done = stix("up", str(task), "--engine", "terraform", "--yes")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "nebius" in done.stderr and "use the pulumi engine" in done.stderr
