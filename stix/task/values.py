"""Parsers for the compact value forms SkyPilot task files use ("A100:8", "4+", "10h",
"8000-8010", "256GB"). Each returns a normalized value or raises ValueError with a message
fit to show a user; each normalized value renders back to a form the parser accepts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# Canonical spellings of accelerators seen in the clouds' catalogs; lookup is
# case-insensitive, names not listed here are kept as written (TPUs, new GPUs).
KNOWN_ACCELERATORS = (
    "A10", "A10G", "A100", "A100-80GB", "A40", "A6000", "B100", "B200", "GB200", "GH200",
    "H100", "H100-MEGA", "H100-NVL",
    "H200", "K80", "L4", "L40", "L40S", "M60", "MI300X", "P100", "P4", "P40", "RTX6000",
    "RTXPRO6000", "T4", "T4g", "V100", "V100-32GB", "Gaudi", "Inferentia", "Trainium",
)
_CANONICAL = {name.lower(): name for name in KNOWN_ACCELERATORS}


def is_tpu(name: str) -> bool:
    """A Cloud TPU in SkyPilot's naming (`tpu-v2-8`): a TPU VM, which is its own host, so
    a task's instance_type does not apply to it (SkyPilot's `accelerator_args` do)."""
    return name.strip().lower().startswith("tpu-")


_TPU_NODE_VERSION = re.compile(r"[0-9]+\.[0-9]+(?:\.[0-9]+)?|pytorch-.*|nightly.*")


def is_tpu_node_version(version: str) -> bool:
    """A retired TPU Node's software version (TensorFlow `2.12.0`, `pytorch-1.13`), which
    no TPU VM boots (their runtimes are `tpu-vm-base`, `tpu-ubuntu2204-base`, ...)."""
    return bool(_TPU_NODE_VERSION.fullmatch(str(version).strip()))


def canonical_accelerator(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValueError("accelerator name is empty")
    if is_tpu(name):
        return name.lower()
    return _CANONICAL.get(name.lower(), name)


def parse_count(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    try:
        count = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a positive number, got {value!r}") from None
    if not math.isfinite(count) or count <= 0:
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return count


def fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True, order=True)
class AcceleratorReq:
    name: str
    count: float = 1.0

    @classmethod
    def parse(cls, text: str) -> AcceleratorReq:
        if not isinstance(text, str):
            raise ValueError(f"expected an accelerator like 'A100:8', got {text!r}")
        name, sep, count = text.partition(":")
        canonical = canonical_accelerator(name)
        return cls(canonical, parse_count(count, f"count of {canonical}") if sep else 1.0)

    def __str__(self) -> str:
        return f"{self.name}:{fmt_number(self.count)}"


@dataclass(frozen=True)
class Quantity:
    """A resource amount: exactly `value`, or at least it when `at_least`."""

    value: float
    at_least: bool = False

    def __str__(self) -> str:
        return fmt_number(self.value) + ("+" if self.at_least else "")


_QTY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*(\+?)\s*$")
_MEM_UNITS = {"": 1.0, "g": 1.0, "gb": 1.0, "gi": 1.0, "gib": 1.0, "t": 1024.0, "tb": 1024.0,
              "ti": 1024.0, "tib": 1024.0, "m": 1 / 1024, "mb": 1 / 1024, "mi": 1 / 1024,
              "mib": 1 / 1024}


def parse_quantity(value: Any, what: str, *, memory: bool = False) -> Quantity:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number or 'N+', got {value!r}")
    if isinstance(value, (int, float)):
        return Quantity(parse_count(value, what))
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a number or 'N+', got {value!r}")
    match = _QTY.match(value)
    if not match:
        forms = "'64', '64+' or '64GB'" if memory else "'8' or '8+'"
        raise ValueError(f"{what} must look like {forms}, got {value!r}")
    number, unit, plus = match.groups()
    factor = _MEM_UNITS.get(unit.lower()) if memory else (1.0 if not unit else None)
    if factor is None:
        raise ValueError(f"{what}: unknown unit {unit!r} in {value!r}")
    return Quantity(parse_count(float(number) * factor, what), at_least=bool(plus))


def parse_disk_size(value: Any) -> int:
    """Disk size in GB from 256, '256', '256GB' or '1TB'."""
    qty = parse_quantity(value, "disk_size", memory=True)
    if qty.at_least:
        raise ValueError(f"disk_size takes an exact size, got {value!r}")
    if not qty.value.is_integer() or not 1 <= qty.value <= 65536:
        raise ValueError(f"disk_size must be a whole number of GB from 1 to 65536, got {value!r}")
    return int(qty.value)


@dataclass(frozen=True, order=True)
class PortRange:
    start: int
    end: int

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"

    def render(self) -> int | str:
        return self.start if self.start == self.end else str(self)


def _port(value: Any, original: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{original!r} is not a port or 'low-high' range") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is outside 1-65535")
    return port


def parse_ports(value: Any) -> list[PortRange]:
    items = value if isinstance(value, list) else [value]
    ranges: set[PortRange] = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise ValueError(f"{item!r} is not a port or 'low-high' range")
        text = str(item)
        low, sep, high = text.partition("-")
        start = _port(low, item)
        end = _port(high, item) if sep else start
        if end < start:
            raise ValueError(f"port range {text!r} ends before it starts")
        ranges.add(PortRange(start, end))
    return sorted(ranges)


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)
_MINUTES = {"s": 1 / 60, "": 1, "m": 1, "h": 60, "d": 1440, "w": 10080}


def parse_minutes(value: Any, what: str) -> int:
    """Minutes from 30, '30', '30m', '10h', '1d'."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be minutes or a duration like '10h', got {value!r}")
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{what} must be minutes or a duration like '10h', got {value!r}")
    number, unit = match.groups()
    return max(0, math.ceil(int(number) * _MINUTES[unit.lower()]))
