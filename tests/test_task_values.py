from __future__ import annotations

import pytest

from stix.task.values import (
    AcceleratorReq,
    PortRange,
    Quantity,
    canonical_accelerator,
    parse_disk_size,
    parse_minutes,
    parse_ports,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A100", AcceleratorReq("A100", 1)),
        ("A100:8", AcceleratorReq("A100", 8)),
        ("a100-80gb:4", AcceleratorReq("A100-80GB", 4)),
        ("h100:8", AcceleratorReq("H100", 8)),
        ("T4:0.5", AcceleratorReq("T4", 0.5)),
        ("tpu-v4-8", AcceleratorReq("tpu-v4-8", 1)),
        ("RTX4090:2", AcceleratorReq("RTX4090", 2)),
    ],
)
def test_accelerator_parse(text: str, expected: AcceleratorReq) -> None:
    assert AcceleratorReq.parse(text) == expected
    assert AcceleratorReq.parse(str(expected)) == expected


@pytest.mark.parametrize("bad", ["", ":8", "A100:0", "A100:-1", "A100:x", "A100:nan", "A100:inf"])
def test_accelerator_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        AcceleratorReq.parse(bad)


def test_canonical_names_are_case_insensitive() -> None:
    assert canonical_accelerator("l40s") == "L40S"
    assert canonical_accelerator("TPU-V5E-8") == "tpu-v5e-8"


@pytest.mark.parametrize(
    ("value", "memory", "expected"),
    [
        (4, False, Quantity(4)),
        ("4", False, Quantity(4)),
        ("4+", False, Quantity(4, True)),
        (" 8 + ", False, Quantity(8, True)),
        (0.5, False, Quantity(0.5)),
        ("32+", True, Quantity(32, True)),
        ("64GB", True, Quantity(64)),
        ("64GiB+", True, Quantity(64, True)),
        ("1TB", True, Quantity(1024)),
        ("512MB", True, Quantity(0.5)),
    ],
)
def test_quantities(value: object, memory: bool, expected: Quantity) -> None:
    assert parse_quantity(value, "x", memory=memory) == expected
    assert parse_quantity(str(expected), "x", memory=memory) == expected


@pytest.mark.parametrize("bad", [True, None, "lots", "4GB", "-1", "0", [4]])
def test_cpus_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad, "cpus")


@pytest.mark.parametrize(
    ("value", "expected"), [(256, 256), ("256", 256), ("256GB", 256), ("1TB", 1024)]
)
def test_disk_size(value: object, expected: int) -> None:
    assert parse_disk_size(value) == expected


@pytest.mark.parametrize("bad", [0, -5, "100+", "1.5", 10**6, "big"])
def test_disk_size_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_disk_size(bad)


def test_ports_forms() -> None:
    assert parse_ports(8000) == [PortRange(8000, 8000)]
    assert parse_ports("8000-8010") == [PortRange(8000, 8010)]
    assert parse_ports([22, "80", "9000-9001", 22]) == [
        PortRange(22, 22), PortRange(80, 80), PortRange(9000, 9001)
    ]
    assert [p.render() for p in parse_ports(["1-2", 3])] == ["1-2", 3]


@pytest.mark.parametrize("bad", [0, 70000, "9000-8000", "a-b", True, 1.5, "80-"])
def test_ports_reject(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_ports(bad)


@pytest.mark.parametrize(
    ("value", "minutes"), [(30, 30), ("30", 30), ("30m", 30), ("10h", 600), ("1d", 1440),
                           ("90s", 2), ("1w", 10080)]
)
def test_minutes(value: object, minutes: int) -> None:
    assert parse_minutes(value, "autostop") == minutes


@pytest.mark.parametrize("bad", [True, "soon", "-1", "10y"])
def test_minutes_reject(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_minutes(bad, "autostop")
