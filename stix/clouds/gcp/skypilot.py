"""GCP rows of SkyPilot's catalog → stix offerings (GPUs paired with their host VMs)."""

from __future__ import annotations

from collections import Counter

from stix.catalog.schema import Offer
from stix.catalog.skypilot import SkyRow, _offer
from stix.clouds.gcp import pairing

CLOUD = "gcp"


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def list_prices_only(rows: list[SkyRow], skipped: Counter[str]) -> list[SkyRow]:
    """One row per machine type (or GPU and count) and zone. Some public copies hold a
    second row for the same offering at a lower price — a Flex-start / Dynamic Workload
    Scheduler rate, not the on-demand list price: the list price (the highest) is kept."""
    best: dict[tuple[object, ...], SkyRow] = {}
    for r in rows:
        key = (r.instance_type, r.accelerator, r.count, r.region, r.zone)
        prev = best.get(key)
        if prev is None:
            best[key] = r
            continue
        skipped["second row for the same offering and zone at another price (a Flex-start/DWS "
                "rate, not the on-demand list price): the higher list price kept"] += 1
        if (r.price or 0) > (prev.price or 0):
            best[key] = r
    return list(best.values())


def convert(rows: list[SkyRow], skipped: Counter[str]) -> list[Offer]:
    """GCP lists GPUs on rows of their own (no machine type, GPU price only): an offering
    is a host VM row paired with a GPU row of its zone, priced as both."""
    rows = list_prices_only(rows, skipped)
    vms: list[SkyRow] = []
    gpus: list[SkyRow] = []
    for r in rows:
        if r.instance_type:
            if r.vcpus is None or r.memory_gib is None:
                skipped["no vCPU or memory figure"] += 1
            elif r.price is None:
                skipped["no on-demand price"] += 1
            else:
                vms.append(r)
        elif r.accelerator and r.accelerator.startswith("tpu-"):
            skipped["TPU (not supported by stix yet)"] += 1
        elif r.accelerator and r.price is not None:
            gpus.append(r)
        else:
            skipped["GPU row without a price"] += 1
    out: list[Offer] = []
    by_zone: dict[tuple[str, str | None], list[SkyRow]] = {}
    for vm in vms:
        by_zone.setdefault((vm.region, vm.zone), []).append(vm)
        if not pairing.is_bundled_family(vm.instance_type):
            out.append(_offer(CLOUD, vm, vm.instance_type, vm.vcpus or 0, vm.memory_gib or 0,
                              vm.price or 0, vm.spot_price))
    for gpu in gpus:
        acc = gpu.accelerator or ""
        hosts = [vm for vm in by_zone.get((gpu.region, gpu.zone), [])
                 if _hosts(vm, acc, gpu.count)]  # fmt: skip
        if not hosts:
            skipped[f"no host machine for {acc}:{gpu.count:g} in its zone"] += 1
        for vm in hosts:
            price = (vm.price or 0) + (gpu.price or 0)
            spot = _add(vm.spot_price, gpu.spot_price)
            out.append(_offer(CLOUD, vm, vm.instance_type, vm.vcpus or 0, vm.memory_gib or 0,
                              price, spot, acc, gpu.count, gpu.accelerator_memory_gib))
    return out


def _hosts(vm: SkyRow, accelerator: str, count: float) -> bool:
    bundle = pairing.bundled_accelerator(vm.instance_type)
    if bundle is not None:
        return bundle.accelerator == accelerator and bundle.count == count
    return (pairing.attaches_to_n1(accelerator) and pairing.is_n1(vm.instance_type)
            and pairing.n1_host_fits(accelerator, count, vm.vcpus or 0, vm.memory_gib or 0))
