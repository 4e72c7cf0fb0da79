"""OCI outside its program: the price list fetcher on answers in the documented shape
(tests/fixtures/oci, written by hand), the shape list, credentials from config files and
env vars of our making (no network), failover classification of OCI's documented errors,
and `up --engine terraform` refusing an OCI stack."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO

import pytest

from stix.catalog import load_catalog
from stix.catalog.update import FetchError
from stix.clouds import registry

FIXTURES = Path(__file__).parent / "fixtures" / "oci"
API = "https://apexapps.oracle.com/pls/apex/cetools/api/v1/products/"


def opener(pages: dict[str, bytes]):  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def open_url(url: str) -> IO[bytes]:
        asked.append(url)
        if url not in pages:
            raise OSError(f"unexpected URL {url}")
        return io.BytesIO(pages[url])

    open_url.asked = asked  # type: ignore[attr-defined]
    return open_url


def recorded():  # type: ignore[no-untyped-def]
    return opener({
        f"{API}?currencyCode=USD": (FIXTURES / "products_page1.json").read_bytes(),
        f"{API}?currencyCode=USD&offset=6": (FIXTURES / "products_page2.json").read_bytes(),
    })


# ---- the price list --------------------------------------------------------------------------


def test_fetch_prices_shapes_from_their_parts_in_every_region_they_are_sold() -> None:
    from stix.clouds.oci.prices import fetch

    open_url = recorded()
    result = fetch(open_url, load_catalog(clouds=["oci"]))
    assert open_url.asked == [f"{API}?currencyCode=USD", f"{API}?currencyCode=USD&offset=6"]
    rows = {(o.instance_type, o.region): o for o in result.offers}
    e4 = rows[("VM.Standard.E4.Flex$_8_32", "us-ashburn-1")]
    assert e4.price == pytest.approx(4 * 0.025 + 32 * 0.0015)  # USD, not the EUR price
    assert e4.spot_price == pytest.approx(e4.price / 2)
    assert (e4.price_source, e4.spot_source, e4.zone) == ("observed", "observed", None)
    # A1's free first tier is not what a cluster pays: the paid tier prices it.
    a1 = rows[("VM.Standard.A1.Flex$_4_24", "eu-frankfurt-1")]
    assert a1.price == pytest.approx(4 * 0.01 + 24 * 0.0015) and a1.arch == "arm64"
    a10 = rows[("VM.GPU.A10.2", "ap-tokyo-1")]
    assert (a10.price, a10.accelerator, a10.accelerator_count) == (4.0, "A10", 2)
    h100 = rows[("BM.GPU.H100.8", "us-chicago-1")]
    assert (h100.price, h100.spot_price, h100.spot_origin) == (80.0, None, "none")
    assert h100.accelerator_memory_gib == 80
    # One price everywhere; regions from the catalog in use.
    assert {o.price for o in result.offers if o.instance_type == "BM.GPU.H100.8"} == {80.0}
    shipped = {o.region for o in load_catalog(clouds=["oci"]).for_cloud("oci")
               if o.instance_type == "BM.GPU.H100.8"}
    assert {r for t, r in rows if t == "BM.GPU.H100.8"} == shipped
    assert {o.as_of for o in result.offers} == {result.offers[0].as_of}
    # E5 is priced only in JPY, V100 only on a commitment, P100 and Standard3 not at all.
    assert not {t for t, _ in rows if t.startswith(("VM.Standard.E5", "VM.Standard3", "VM.GPU3",
                                                     "VM.GPU2", "BM.GPU3", "BM.GPU2"))}
    assert sum(result.skipped.values()) > 0


def test_fetch_prices_for_some_regions_and_through_update() -> None:
    from stix.clouds.oci.prices import fetch

    result = fetch(recorded(), load_catalog(clouds=["oci"]), regions=["uk-london-1"])
    assert {o.region for o in result.offers} == {"uk-london-1"}
    assert registry.cloud("oci").price_source


def test_catalog_update_writes_observed_oci_rows(tmp_path: Path) -> None:
    from stix.catalog.update import updatable_clouds, update_catalog

    assert "oci" in updatable_clouds()
    done = update_catalog(["oci"], tmp_path, opener=recorded())
    written = load_catalog(tmp_path, clouds=["oci"]).for_cloud("oci")
    assert written and {o.price_source for o in written} == {"observed"}
    assert done.results[0].cloud == "oci"


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b'{"parts": []}'])
def test_an_answer_that_is_not_a_price_list_is_a_fetch_error(body: bytes) -> None:
    from stix.clouds.oci.prices import fetch

    with pytest.raises(FetchError):
        fetch(opener({f"{API}?currencyCode=USD": body}), load_catalog(clouds=["oci"]))


def test_pages_that_loop_are_refused() -> None:
    from stix.clouds.oci.prices import items

    loop = (b'{"items": [], "hasMore": true, "links": [{"rel": "next", "href": '
            b'"' + f"{API}?currencyCode=USD".encode() + b'"}]}')
    with pytest.raises(FetchError, match="loop"):
        items(opener({f"{API}?currencyCode=USD": loop}))


# ---- shapes ----------------------------------------------------------------------------------


def test_flexible_sizes_follow_ocis_limits() -> None:
    from stix.clouds.oci import machines

    cloud = registry.cloud("oci")
    assert machines.split("VM.Standard.E4.Flex$_8_32") == ("VM.Standard.E4.Flex", 8.0, 32.0)
    assert machines.ocpus("VM.Standard.A1.Flex$_8_48") == (8.0, 48.0)
    assert machines.ocpus("VM.GPU.A10.1") is None
    assert cloud.check_offer("VM.Standard.E4.Flex$_3_8", 3, 8, None, 0).startswith(
        "VM.Standard.E4.Flex takes 1 to 64 whole OCPUs")
    assert "1 to 64 GB per OCPU" in cloud.check_offer("VM.Standard.E4.Flex$_2_100", 2, 100,
                                                     None, 0)
    assert cloud.check_offer("BM.GPU.H100.8", 224, 2048, "H100", 8) == ""
    assert cloud.check_offer("BM.GPU.H100.8", 224, 2048, "H100", 4) != ""
    assert cloud.infer_arch("VM.Standard.A1.Flex$_2_12") == "arm64"
    assert cloud.infer_arch("VM.GPU.A10.1") == "x86_64"
    assert machines.preemptible("VM.GPU.A10.1") and not machines.preemptible("BM.GPU4.8")


def test_shipped_rows_price_preemptible_at_half_and_bare_metal_without_it() -> None:
    offers = load_catalog(clouds=["oci"]).for_cloud("oci")
    assert {o.zone for o in offers} == {None}
    for o in offers:
        if o.instance_type.startswith("BM."):
            assert o.spot_price is None, o
        else:
            assert o.spot_price == pytest.approx(o.price / 2, abs=1e-4), o
    sold = {o.accelerator for o in offers if o.accelerator}
    assert sold == {"P100", "V100", "A10", "A100", "A100-80GB", "H100", "H200", "L40S",
                    "MI300X"}


def test_image_references() -> None:
    cloud = registry.cloud("oci")
    assert cloud.image_problem("ocid1.image.oc1.iad.aaaaaaaabbbb") is None
    assert cloud.image_problem("platform:Canonical Ubuntu:22.04:gpu") is None
    assert "not an OCI image" in (cloud.image_problem("ami-0123456789abcdef0") or "")


# ---- credentials -------------------------------------------------------------------------------


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("OCI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _config(home: Path, text: str) -> None:
    (home / ".oci").mkdir(exist_ok=True)
    (home / ".oci" / "key.pem").write_text("not a real key\n")
    (home / ".oci" / "config").write_text(text)


PROFILE = ("user=ocid1.user.oc1..aaaauser\nfingerprint=aa:bb:cc\n"
           "key_file=~/.oci/key.pem\ntenancy=ocid1.tenancy.oc1..aaaaten\nregion=us-ashburn-1\n")


def test_no_credentials_says_how_to_set_them_up(home: Path) -> None:
    status = registry.cloud("oci").check_credentials()
    assert not status.ok and "no OCI config" in status.detail
    assert status.hint and "~/.oci/config" in status.hint and "OCI_CLI_USER" in status.hint


def test_config_file_profile(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.clouds.oci.credentials import tenancy

    _config(home, "[DEFAULT]\n" + PROFILE + "\n[other]\nuser=ocid1.user.oc1..x\n")
    status = registry.cloud("oci").check_credentials()
    assert status.ok and "ocid1.tenancy.oc1..aaaaten" in status.detail
    assert status.sources == [f"{home}/.oci/config [DEFAULT]"]
    assert tenancy() == "ocid1.tenancy.oc1..aaaaten"
    monkeypatch.setenv("OCI_CLI_PROFILE", "other")
    status = registry.cloud("oci").check_credentials()  # inherits DEFAULT's values, as OCI's
    assert status.ok and status.sources == [f"{home}/.oci/config [other]"]
    _config(home, "[other]\nuser=ocid1.user.oc1..x\n")
    status = registry.cloud("oci").check_credentials()
    assert not status.ok and "lacks fingerprint, key_file, tenancy, region" in status.detail
    monkeypatch.setenv("OCI_CLI_PROFILE", "missing")
    assert "no [missing] profile" in registry.cloud("oci").check_credentials().detail


def test_env_vars_win_and_a_missing_key_file_is_named(home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _config(home, "[DEFAULT]\n" + PROFILE)
    monkeypatch.setenv("OCI_CLI_TENANCY", "ocid1.tenancy.oc1..fromenv")
    status = registry.cloud("oci").check_credentials()
    assert status.ok and "fromenv" in status.detail
    assert status.sources[-1] == "env OCI_CLI_TENANCY"
    monkeypatch.setenv("OCI_CLI_KEY_FILE", str(home / "gone.pem"))
    status = registry.cloud("oci").check_credentials()
    assert not status.ok and "gone.pem does not exist" in status.detail and status.hint


def test_verify_with_an_unreadable_key_fails_without_the_network(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(home, "[DEFAULT]\n" + PROFILE)
    status = registry.cloud("oci").check_credentials(verify=True)
    assert not status.ok and "cannot be read as a PEM private key" in status.detail
    assert status.hint


# ---- failover --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind"), [
    ("error: 500-InternalError, Out of host capacity.\nSuggestion: The service for this "
     "resource encountered an error.", "capacity"),
    ("Error: 400-LimitExceeded, The following service limits were exceeded: "
     "gpu-a10-count. Request a service limit increase", "quota"),
    ("Error: 400-QuotaExceeded, Quota exceeded for compartment", "quota"),
    ("Error: 401-NotAuthenticated, The required information to complete authentication "
     "was not provided or was incorrect.", "credentials"),
    ("Error: 404-NotAuthorizedOrNotFound, Authorization failed or requested resource not "
     "found.", "credentials"),
    ("can not create client, bad configuration: did not find a proper configuration for "
     "tenancy", "credentials"),
    ("Error: 400-InvalidParameter, Invalid shape", "other"),
])
def test_ocis_documented_errors_are_classified(text: str, kind: str) -> None:
    from stix.engine.errors import classify

    assert classify(text, "oci") == kind


# ---- Terraform -------------------------------------------------------------------------------


def test_up_with_the_terraform_engine_refuses_an_oci_stack(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`stix up --engine terraform` (the CLI's entry point, in this process) stops with one
    clear line before any engine runs."""
    import contextlib

    from stix.cli import main

    def stix(*args: str) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                return (exc.code if isinstance(exc.code, int) else 1), err.getvalue()
        return 0, err.getvalue()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("STIX_CATALOG_REFRESH_HOURS", "0")
    (tmp_path / "t.yaml").write_text("resources:\n  infra: oci\n  cpus: 2\nrun: echo\n")
    assert stix("init")[0] == 0
    code, err = stix("up", "t.yaml", "--engine", "terraform", "--yes")
    assert code != 0 and "Traceback" not in err
    assert "no mapping for oci:" in err and "use the pulumi engine" in err


def test_stopped_gpu_instances_that_oci_keeps_billing_are_said() -> None:
    from stix.placement import Placement

    cloud = registry.cloud("oci")

    def said(itype: str) -> list[str]:
        return cloud.not_counted(Placement(cluster="c", cloud="oci", region="us-ashburn-1",
                                           instance_type=itype, vcpus=8, memory_gib=32,
                                           hourly_price=1.0))

    assert any("keeps billing stopped" in n for n in said("BM.GPU.H100.8"))
    assert said("VM.GPU.A10.1") == [] and said("VM.Standard.E4.Flex$_8_32") == []
    disk = cloud.node_charges(Placement(cluster="c", cloud="oci", region="us-ashburn-1",
                                        instance_type="VM.GPU.A10.1", vcpus=30,
                                        memory_gib=240, hourly_price=2.0))
    assert disk[0].running == pytest.approx(256 * (0.0255 + 0.0017 * 10) / 730)


def test_autostop_is_reported_not_acted_on() -> None:
    cloud = registry.cloud("oci")
    assert cloud.capabilities.autostop == () and cloud.autostop_template is None
    assert "keeps billing" in cloud.ignores["autostop"]
    assert cloud.capabilities.stop_start and not cloud.capabilities.stop_spot
