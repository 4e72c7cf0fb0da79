"""Price fetchers on recorded-style responses: served by an injected opener, and (Azure,
AWS) by a real HTTP server on 127.0.0.1 — never the internet."""

from __future__ import annotations

import io
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import pytest

from stix.catalog.loader import Catalog, load_catalog
from stix.catalog.schema import Offer
from stix.catalog.update import (
    CredentialsError,
    FetchError,
    http_opener,
    read_json,
    redact,
    update_catalog,
)
from stix.clouds.aws import prices as aws
from stix.clouds.aws import spot as aws_spot
from stix.clouds.azure import prices as azure
from stix.clouds.gcp import prices as gcp

PRICES = Path(__file__).parent / "fixtures" / "prices"


def _o(cloud: str, itype: str, vcpus: float, mem: float, region: str, zone: str | None,
       price: float, spot: float | None, acc: str | None = None, count: float = 0.0,
       acc_mem: float | None = None, arch: str = "x86_64") -> Offer:  # fmt: skip
    return Offer(cloud, itype, vcpus, mem, acc, count, acc_mem, region, zone, price, spot, arch)


BASE = Catalog([
    _o("azure", "Standard_D2s_v5", 2, 8, "eastus", None, 0.09, 0.02),
    _o("azure", "Standard_NC4as_T4_v3", 4, 28, "eastus", None, 0.5, 0.05, "T4", 1, 16),
    _o("aws", "m5.large", 2, 8, "us-east-1", "us-east-1a", 0.09, 0.035),
    _o("aws", "m5.large", 2, 8, "us-east-1", "us-east-1b", 0.09, 0.038),
    _o("aws", "g5.xlarge", 4, 16, "us-east-1", "us-east-1a", 1.0, 0.4, "A10G", 1, 24),
    _o("gcp", "n1-standard-4", 4, 15, "us-central1", "us-central1-a", 0.1, 0.01),
    _o("gcp", "n1-standard-8", 8, 30, "us-central1", "us-central1-a", 0.5, 0.1, "T4", 1, 16),
    _o("gcp", "a2-highgpu-1g", 12, 85, "us-central1", "us-central1-b", 3.0, 1.0, "A100", 1, 40),
    _o("gcp", "n1-standard-8", 8, 30, "europe-west4", "europe-west4-a", 0.4, 0.08),
])  # fmt: skip


def _route(url: str) -> Path:
    """Which fixture file answers `url` (as the real services would)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if parts.path.endswith("/api/retail/prices"):
        return PRICES / "azure" / ("page2.json" if "$skip" in query else "page1.json")
    if parts.path.endswith("/offers/v1.0/aws/index.json"):
        return PRICES / "aws" / "index.json"
    if parts.path.endswith("/AmazonEC2/current/region_index.json"):
        return PRICES / "aws" / "region_index.json"
    for region in ("us-east-1", "eu-west-1"):
        if f"/{region}/index." in parts.path:
            found = PRICES / "aws" / (region + Path(parts.path).suffix)
            if found.is_file():
                return found
    if parts.path.endswith("/spot.js"):
        return PRICES / "aws" / "spot.js"
    if parts.path.endswith("/skus"):
        return PRICES / "gcp" / ("skus_page2.json" if "pageToken" in query else "skus_page1.json")
    raise FetchError(f"cannot fetch {redact(url)}: HTTP 404 Not Found")


class FixtureOpener:
    """An injected opener serving fixture files, remembering what was asked."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> IO[bytes]:
        self.urls.append(url)
        return io.BytesIO(_route(url).read_bytes())


# ---- Azure --------------------------------------------------------------------------------


def test_azure_follows_pages_and_filters() -> None:
    opener = FixtureOpener()
    result = azure.fetch(opener, BASE)
    assert len(opener.urls) == 2 and "%24skip=100" not in opener.urls[0]
    assert "filter=serviceName%20eq%20%27Virtual%20Machines%27" in opener.urls[0]
    got = {(o.instance_type, o.region): (o.price, o.spot_price) for o in result.offers}
    assert got == {
        ("Standard_D2s_v5", "eastus"): (0.096, 0.0192),  # latest date wins; Windows/LP/DevTest out
        ("Standard_D2s_v5", "westeurope"): (0.11, None),  # a region the base never had
        ("Standard_NC4as_T4_v3", "westus2"): (0.526, 0.0526),
    }
    t4 = next(o for o in result.offers if o.accelerator)
    assert (t4.vcpus, t4.memory_gib, t4.accelerator, t4.accelerator_count) == (4, 28, "T4", 1)
    assert all(o.zone is None for o in result.offers)
    assert dict(result.skipped) == {
        "size not in stix's published size list or the current catalog (no vCPU/memory/GPU "
        "figures)": 1}


def test_azure_region_filter_builds_one_query_per_region() -> None:
    assert azure.query_url("eastus").endswith(
        urllib.parse.quote("priceType eq 'Consumption' and armRegionName eq 'eastus'"))


def test_azure_page_without_items_is_an_error() -> None:
    def opener(url: str) -> IO[bytes]:
        return io.BytesIO(b'{"Message": "Invalid filter"}')

    with pytest.raises(FetchError, match=r"prices\.azure\.com.*not a Retail Prices answer"):
        azure.fetch(opener, BASE)


def test_azure_looping_pages_stop() -> None:
    def opener(url: str) -> IO[bytes]:
        return io.BytesIO(b'{"Items": [{"armSkuName": "x"}], "NextPageLink": "https://a/b"}')

    with pytest.raises(FetchError, match="pages loop"):
        azure.fetch(opener, BASE)


# ---- AWS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_aws_price_list(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    opener = FixtureOpener()
    result = aws.fetch(opener, BASE, fmt=fmt, regions=["us-east-1"])
    assert any(u.endswith("/spot.js") for u in opener.urls)  # no credentials: the public feed
    got = {(o.instance_type, o.zone): o for o in result.offers}
    assert sorted(got) == sorted([
        ("m5.large", "us-east-1a"), ("m5.large", "us-east-1b"), ("g5.xlarge", "us-east-1a"),
        ("p5.48xlarge", None), ("m7g.large", None), ("x1e.32xlarge", None)])  # fmt: skip
    m5a = got[("m5.large", "us-east-1a")]
    # New on-demand price, and the feed's observed regional spot price in each known zone:
    # the catalog's old (estimated) spot prices are never kept.
    assert (m5a.price, m5a.spot_price) == (0.096, 0.0352)
    assert (m5a.price_source, m5a.spot_source) == ("observed", "observed") and m5a.as_of
    assert got[("m5.large", "us-east-1b")].spot_price == 0.0352
    g5 = got[("g5.xlarge", "us-east-1a")]
    assert (g5.price, g5.accelerator, g5.accelerator_count, g5.accelerator_memory_gib) == (
        1.006, "A10G", 1, 24)  # fmt: skip
    p5 = got[("p5.48xlarge", None)]
    assert (p5.accelerator, p5.accelerator_count, p5.accelerator_memory_gib, p5.spot_price) == (
        "H100", 8, 80, 34.1208)  # fmt: skip
    m7g = got[("m7g.large", None)]
    assert m7g.arch == "arm64" and m7g.spot_price is None and m7g.spot_origin == "none"
    assert got[("x1e.32xlarge", None)].memory_gib == 3904  # "3,904 GiB"
    assert dict(result.skipped) == {"GPU model unknown (family not in the catalog)": 1}


def test_aws_reads_every_region_of_the_price_list(monkeypatch: pytest.MonkeyPatch) -> None:
    spot = aws_spot.parse_feed((PRICES / "aws" / "spot.js").read_text())
    result = aws.fetch(FixtureOpener(), BASE, spot=spot)
    assert sorted({o.region for o in result.offers}) == ["eu-west-1", "us-east-1"]
    eu = next(o for o in result.offers if o.region == "eu-west-1" and o.instance_type == "m5.large")
    assert (eu.zone, eu.spot_price) == (None, 0.0391)  # "eu-ireland" in the feed


def test_aws_spot_feed_parses_linux_prices_only() -> None:
    spot = aws_spot.parse_feed((PRICES / "aws" / "spot.js").read_text())
    assert spot.by_region == {("m5.large", "us-east-1"): 0.0352, ("g5.xlarge", "us-east-1"): 0.4401,
                              ("p5.48xlarge", "us-east-1"): 34.1208,
                              ("m5.large", "eu-west-1"): 0.0391}
    with pytest.raises(FetchError, match="not the spot price feed"):
        aws_spot.parse_feed("callback({})")


def test_aws_unknown_region() -> None:
    with pytest.raises(FetchError, match="no EC2 price list for region mars-1"):
        aws.fetch(FixtureOpener(), BASE, regions=["mars-1"])


def test_aws_offer_index_without_ec2() -> None:
    def opener(url: str) -> IO[bytes]:
        return io.BytesIO(b'{"offers": {}}')

    with pytest.raises(FetchError, match="offer index has no AmazonEC2"):
        aws.fetch(opener, BASE)


# ---- GCP ----------------------------------------------------------------------------------


def test_gcp_needs_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("STIX_GCP_API_KEY", raising=False)
    opener = FixtureOpener()
    with pytest.raises(CredentialsError) as info:
        gcp.fetch(opener, BASE)
    assert "needs an API key" in str(info.value) and "GOOGLE_API_KEY" in str(info.value)
    assert opener.urls == []  # said so before touching the network


def test_gcp_reprices_the_catalog_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "k-123")
    opener = FixtureOpener()
    result = gcp.fetch(opener, BASE)
    assert len(opener.urls) == 2 and "pageToken=page-2-token" in opener.urls[1]
    assert all("key=k-123" in u for u in opener.urls)
    got = {(o.instance_type, o.accelerator): o for o in result.offers
           if o.zone in ("us-central1-a", "us-central1-b") and o.accelerator_count <= 1}
    n1 = got[("n1-standard-4", None)]
    assert n1.price == pytest.approx(4 * 0.031611 + 15 * 0.004237)
    assert n1.spot_price == pytest.approx(4 * 0.006655 + 15 * 0.000892)
    t4 = got[("n1-standard-8", "T4")]
    assert t4.price == pytest.approx(8 * 0.031611 + 30 * 0.004237 + 0.35)
    assert t4.spot_price == pytest.approx(8 * 0.006655 + 30 * 0.000892 + 0.14)
    a2 = got[("a2-highgpu-1g", "A100")]
    assert a2.price == pytest.approx(12 * 0.031611 + 85 * 0.004237 + 2.933908)
    assert a2.spot_price is None  # no preemptible A2/A100 SKU in the answer
    assert a2.zone == "us-central1-b"  # zones come from the catalog in use
    assert {o.zone for o in result.offers if o.instance_type == "a2-highgpu-1g"} == {
        "us-central1-b"}
    assert dict(result.skipped) == {"no on-demand SKU price for n1 in europe-west4": 1}
    assert all(o.price_source == "observed" for o in result.offers)


def test_gcp_says_it_drops_the_tpu_rows_it_cannot_price(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "k-123")
    tpu = _o("gcp", "tpu-v2-8", 96, 335, "us-central1", "us-central1-b", 4.5, 1.35,
             "tpu-v2-8", 1, 64)
    result = gcp.fetch(FixtureOpener(), Catalog([*BASE.offers, tpu]))
    assert not [o for o in result.offers if o.instance_type == "tpu-v2-8"]
    assert [n for reason, n in result.skipped.items() if "Cloud TPU VM" in reason] == [1]


def test_gcp_writes_every_published_type_its_skus_price(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "k-123")
    result = gcp.fetch(FixtureOpener(), BASE)
    have = {(o.instance_type, o.region, o.accelerator, o.accelerator_count) for o in result.offers}
    # Types the catalog in use never had, in a region it never had, with GPU pairings the
    # published N1 limits allow, and bundled types whose GPU SKU is in the answer.
    assert ("n1-highmem-4", "us-east1", "T4", 1) in have
    assert ("n1-standard-32", "us-east1", "T4", 4) in have
    assert ("n1-standard-4", "us-east1", "T4", 2) not in have  # too small a host for T4:2
    assert ("a2-ultragpu-1g", "us-central1", "A100-80GB", 1) in have
    assert ("n1-highcpu-96", "us-central1", None, 0) in have
    east = {o.zone for o in result.offers if o.region == "us-east1"}
    assert east == {"us-east1-b", "us-east1-c", "us-east1-d"}  # the region's zones


def test_gcp_sku_classification() -> None:
    book = gcp.price_book(iter([
        {"description": "N2D AMD Instance Core running in Americas",
         "category": {"resourceFamily": "Compute", "resourceGroup": "CPU", "usageType": "OnDemand"},
         "serviceRegions": ["us-east1"],
         "pricingInfo": [{"pricingExpression": {"tieredRates": [
             {"unitPrice": {"currencyCode": "USD", "units": "0", "nanos": 27500000}}]}}]},
    ]))  # fmt: skip
    assert book.get("core", "n2d", "us-east1", False) == pytest.approx(0.0275)
    assert book.get("core", "n2", "us-east1", False) is None


def test_api_key_never_shows_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def opener(url: str) -> IO[bytes]:
        raise FetchError(f"cannot fetch {redact(url)}: HTTP 403 Forbidden")

    with pytest.raises(FetchError) as info:
        gcp.fetch(opener, BASE, api_key="secret-key")
    assert "secret-key" not in str(info.value) and "key=***" in str(info.value)


# ---- update_catalog -----------------------------------------------------------------------


def test_update_writes_every_cloud(tmp_path: Path) -> None:
    result = update_catalog(["azure", "aws"], tmp_path, base=BASE, opener=FixtureOpener())
    assert [r.cloud for r in result.results] == ["azure", "aws"]
    cat = load_catalog(tmp_path)
    assert cat.bad_rows == [] and cat.clouds == ["aws", "azure"]
    assert len(cat.for_cloud("azure")) == 3 and len(cat.for_cloud("aws")) == 11
    assert '"source": "Azure Retail Prices API' in (tmp_path / "azure" / "source.json").read_text()


def test_update_failure_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("STIX_GCP_API_KEY", raising=False)
    with pytest.raises(CredentialsError):
        update_catalog(["azure", "gcp"], tmp_path, base=BASE, opener=FixtureOpener())
    assert list(tmp_path.iterdir()) == []


def test_azure_sizes_come_from_the_published_list(tmp_path: Path) -> None:
    # No catalog to take shapes from: the size list kept with the fetcher has them.
    result = update_catalog(["azure"], tmp_path, base=Catalog([]), opener=FixtureOpener())
    t4 = next(o for o in result.results[0].offers if o.accelerator)
    assert (t4.instance_type, t4.vcpus, t4.memory_gib, t4.accelerator_count) == (
        "Standard_NC4as_T4_v3", 4, 28, 1)


def test_update_drops_types_the_cloud_retired(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # A price list that still prices a retired type must not put it back in the catalog.
    from stix.clouds import registry
    from stix.clouds.base import Retired

    cloud = type(registry.cloud("azure"))
    monkeypatch.setattr(cloud, "retired", (Retired("T4", r"Standard_NC4as_T4_v3", "gone", ()),))
    result = update_catalog(["azure"], tmp_path, base=BASE, opener=FixtureOpener()).results[0]
    assert result.skipped["type retired by the cloud"] == 1
    assert "Standard_NC4as_T4_v3" not in {o.instance_type for o in result.offers}
    assert len(result.offers) == 2


def test_update_with_nothing_usable_is_an_error(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.clouds.azure import machines

    monkeypatch.setattr(machines, "TYPES", {})
    with pytest.raises(FetchError, match="gave no usable rows") as info:
        update_catalog(["azure"], tmp_path, base=Catalog([]), opener=FixtureOpener())
    assert "size not in stix's published size list" in str(info.value)


def test_update_unknown_cloud(tmp_path: Path) -> None:
    from stix.errors import UsageError

    with pytest.raises(UsageError, match=r"clouds \(--cloud\) ibm: stix updates "):
        update_catalog(["ibm"], tmp_path, base=BASE, opener=FixtureOpener())


# ---- a real HTTP server on loopback -------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/broken"):
            self.send_error(500, "Internal Server Error")
            return
        if self.path.startswith("/garbage"):
            body = b"<html>not json</html>"
        else:
            try:
                path = _route(f"http://x{self.path}")
            except FetchError:
                self.send_error(404, "Not Found")
                return
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            body = path.read_bytes().replace(b"https://prices.azure.com:443", base.encode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_azure_over_real_http_with_pagination(server: str) -> None:
    result = azure.fetch(http_opener(timeout=10), BASE, api=f"{server}/api/retail/prices")
    assert sorted((o.instance_type, o.region) for o in result.offers) == [
        ("Standard_D2s_v5", "eastus"), ("Standard_D2s_v5", "westeurope"),
        ("Standard_NC4as_T4_v3", "westus2")]  # fmt: skip


def test_aws_over_real_http(server: str) -> None:
    result = aws.fetch(http_opener(timeout=10), BASE, host=server,
                       spot_feed=f"{server}/spot.js")
    assert len(result.offers) == 11
    assert all(o.price_source == "observed" for o in result.offers)


def test_http_errors_name_the_url(server: str) -> None:
    opener = http_opener(timeout=10)
    with pytest.raises(FetchError, match=rf"cannot fetch {server}/broken: HTTP 500"):
        read_json(opener, f"{server}/broken")
    with pytest.raises(FetchError, match=rf"{server}/garbage: the answer is not JSON"):
        read_json(opener, f"{server}/garbage")
    with pytest.raises(FetchError, match=r"broken/offers/v1\.0/aws/index\.json: HTTP 500"):
        aws.fetch(opener, BASE, host=f"{server}/broken")


def test_unreachable_host_names_the_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/retail/prices"
    with pytest.raises(FetchError, match=rf"cannot fetch http://127\.0\.0\.1:{port}/api"):
        azure.fetch(http_opener(timeout=5), BASE, api=url)


def test_update_of_some_regions_keeps_the_others(tmp_path: Path) -> None:
    result = update_catalog(["azure"], tmp_path, base=BASE, opener=FixtureOpener(),
                            regions=["westus2"])
    cat = load_catalog(tmp_path)
    got = {(o.instance_type, o.region): o.price_source for o in cat.for_cloud("azure")}
    # westus2 refreshed (observed); eastus was not asked for: kept as the catalog had it.
    assert got[("Standard_NC4as_T4_v3", "westus2")] == "observed"
    assert got[("Standard_D2s_v5", "eastus")] == "estimated"
    assert any("kept from the catalog in use" in n for n in result.results[0].notes)
