"""AWS spot prices from EC2 DescribeSpotPriceHistory, against a real moto_server on
loopback (moto implements the API; its prices are placeholders, so this checks the
plumbing — pagination, latest-per-zone, the zone → region fold — not AWS's numbers)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stix.clouds.aws import spot


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    pytest.importorskip("boto3", reason="needs boto3 (the test extra)")
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(exe).exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_spot_history_per_zone_from_moto(moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", moto)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    prices = spot.from_history(["us-east-1"])
    assert prices.by_zone, "moto answered no spot price history"
    zones = {z for (_t, z) in prices.by_zone}
    assert zones and all(z.startswith("us-east-1") and len(z) == len("us-east-1a") for z in zones)
    itype, zone = next(iter(prices.by_zone))
    assert prices.zone_price(itype, zone, "us-east-1") == prices.by_zone[(itype, zone)]
    assert zone in prices.zones[(itype, "us-east-1")]
    assert prices.by_region[(itype, "us-east-1")] == min(
        p for (t, z), p in prices.by_zone.items() if t == itype)
    assert "DescribeSpotPriceHistory" in prices.source and prices.as_of


@pytest.mark.slow
def test_credentials_choose_the_history(moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", moto)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")

    def no_feed(url: str) -> object:
        raise AssertionError("the public feed must not be read when credentials exist")

    got = spot.observed_spot(no_feed, ["us-east-1"])  # type: ignore[arg-type]
    assert "DescribeSpotPriceHistory" in got.source
