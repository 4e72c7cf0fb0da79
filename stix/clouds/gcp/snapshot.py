"""GCP Compute Engine: regions, zones, machine families and us-central1 list prices."""

from __future__ import annotations

from collections.abc import Iterator

from stix.catalog.schema import ESTIMATED
from stix.catalog.snapshot import (
    SNAPSHOT_DATE,
    Attach,
    Family,
    Image,
    Row,
    Shape,
    discount,
    num,
    places,
    row,
    sized,
)

GCP_ZONES = {
    "us-central1": "abcf", "us-east1": "bcd", "us-east4": "abc", "us-east5": "abc",
    "us-west1": "abc", "us-west2": "abc", "us-west3": "abc", "us-west4": "abc",
    "us-south1": "abc", "europe-west1": "bcd", "europe-west2": "abc", "europe-west3": "abc",
    "europe-west4": "abc", "europe-north1": "abc", "asia-east1": "abc",
    "asia-northeast1": "abc", "asia-northeast3": "abc", "asia-southeast1": "abc",
    "asia-south1": "abc", "me-west1": "abc",
}  # fmt: skip
# (CPU factor, GPU factor) relative to us-central1.
GCP_FACTORS = {
    "us-central1": (1.0, 1.0), "us-east1": (1.0, 1.0), "us-west1": (1.0, 1.0),
    "us-east5": (1.0, 1.0), "us-east4": (1.126, 1.07), "us-west2": (1.2, 1.1),
    "us-west3": (1.2, 1.1), "us-west4": (1.126, 1.07), "us-south1": (1.181, 1.09),
    "europe-west1": (1.1, 1.05), "europe-west2": (1.287, 1.16),
    "europe-west3": (1.287, 1.16), "europe-west4": (1.1, 1.05),
    "europe-north1": (1.1, 1.05), "asia-east1": (1.157, 1.08),
    "asia-northeast1": (1.286, 1.15), "asia-northeast3": (1.286, 1.15),
    "asia-southeast1": (1.233, 1.12), "asia-south1": (1.2, 1.1),
    "me-west1": (1.15, 1.1),
}  # fmt: skip


def _n1(kind: str, gib_per_vcpu: float, sizes: tuple[int, ...]) -> tuple[Shape, ...]:
    # N1 is priced per vCPU plus per GiB of memory.
    return tuple(
        Shape(f"n1-{kind}-{n}", n, n * gib_per_vcpu, n * 0.031611 + n * gib_per_vcpu * 0.004237)
        for n in sizes
    )


N1_SHAPES = _n1("standard", 3.75, (1, 2, 4, 8, 16, 32, 64, 96)) + _n1(
    "highmem", 6.5, (2, 4, 8, 16, 32, 64, 96)
)
N1_BY_NAME = {s.name: s for s in N1_SHAPES}
_NO_N1 = ("us-east5", "us-south1", "me-west1")  # newer regions sell no N1
_N1_WHERE = {r: z for r, z in GCP_ZONES.items() if r not in _NO_N1}
_C2_WHERE = {r: GCP_ZONES[r] for r in (
    "us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west2",
    "europe-west3", "europe-west4", "asia-east1", "asia-northeast1", "asia-southeast1",
    "asia-south1")}  # fmt: skip
_C4A_WHERE = {"us-central1": "abcf", "us-east1": "bcd", "us-east4": "abc", "us-west1": "abc",
              "europe-west1": "bcd", "europe-west3": "abc", "europe-west4": "abc",
              "asia-east1": "abc", "asia-northeast1": "abc", "asia-southeast1": "abc"}  # fmt: skip
_T2D_WHERE = {r: GCP_ZONES[r] for r in (
    "us-central1", "us-east1", "us-east4", "us-west1", "europe-west1", "europe-west4",
    "asia-east1", "asia-southeast1")}  # fmt: skip
_STD = {str(n): n for n in (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)}
_HM = {k: v for k, v in _STD.items() if v < 128}
_E2 = {str(n): n for n in (2, 4, 8, 16, 32)}
_C2 = {str(n): n for n in (4, 8, 16, 30, 60)}
_T2A = {str(n): n for n in (1, 2, 4, 8, 16, 32, 48)}
_C4A = {str(n): n for n in (1, 2, 4, 8, 16, 32, 48, 64, 72)}
_NAME = "{prefix}-{size}"

_L4_WHERE = {"us-central1": "abc", "us-east1": "bcd", "us-east4": "ac", "us-west1": "abc",
             "us-west4": "ac", "europe-west1": "bc", "europe-west2": "ab", "europe-west3": "b",
             "europe-west4": "abc", "asia-east1": "abc", "asia-northeast1": "ac",
             "asia-northeast3": "ab", "asia-southeast1": "abc", "asia-south1": "ab"}  # fmt: skip
_A100_WHERE = {"us-central1": "abcf", "us-east1": "b", "us-west1": "b", "us-west3": "b",
               "us-west4": "b", "europe-west4": "ab", "asia-northeast1": "ac",
               "asia-northeast3": "ab", "asia-southeast1": "bc", "me-west1": "bc"}  # fmt: skip
_A100_80_WHERE = {"us-central1": "ac", "us-east4": "c", "us-east5": "b", "europe-west4": "a",
                  "asia-southeast1": "c"}  # fmt: skip
_H100_WHERE = {"us-central1": "ac", "us-east4": "a", "us-east5": "a", "us-west1": "a",
               "us-west4": "a", "europe-west1": "b", "europe-west4": "bc",
               "asia-northeast1": "b", "asia-southeast1": "c"}  # fmt: skip
_H100_SMALL_WHERE = {"us-central1": "ac", "us-east4": "a", "us-east5": "a",
                     "europe-west4": "b", "asia-northeast1": "b"}  # fmt: skip


def _a3_small(n: int) -> Shape:
    # a3-highgpu-{1,2,4}g are fractions of the 8-GPU machine, priced pro rata.
    return Shape(f"a3-highgpu-{n}g", 26 * n, 234 * n, 88.49 * n / 8, "H100", n)


GCP: tuple[Family, ...] = (
    Family(sized("e2-standard", _E2, 4, 0.033503, fmt=_NAME), spot=(0.6, 0.7)),
    Family(N1_SHAPES, spot=(0.6, 0.8), where=_N1_WHERE),
    Family(sized("n2-standard", _STD, 4, 0.048559, fmt=_NAME), spot=(0.6, 0.8)),
    # n2-highmem-128 has 864 GB, not 8 per vCPU.
    Family((*sized("n2-highmem", _HM, 8, 0.065507, fmt=_NAME),
            Shape("n2-highmem-128", 128, 864, 128 * 0.031611 + 864 * 0.004237)),
           spot=(0.6, 0.8)),
    # n2-highcpu stops at 96 vCPUs.
    Family(sized("n2-highcpu", _HM, 1, 0.035848, fmt=_NAME), spot=(0.6, 0.8)),
    Family(sized("c2-standard", _C2, 4, 0.05218, fmt=_NAME), spot=(0.6, 0.75),
           where=_C2_WHERE),
    # T2D (AMD, x86): the 1-vCPU machine with 4 GB that SkyPilot's sizing rule accepts
    # (n1-standard-1 has 3.75 GB); $0.027502 per vCPU-hour and $0.003686 per GB-hour.
    Family(tuple(Shape(f"t2d-standard-{n}", n, 4 * n, n * 0.027502 + 4 * n * 0.003686)
                 for n in (1, 2, 4, 8, 16, 32, 48, 60)), spot=(0.6, 0.7), where=_T2D_WHERE),
    Family(sized("t2a-standard", _T2A, 4, 0.0385, "arm64", fmt=_NAME), spot=(0.55, 0.7),
           where={"us-central1": "abf", "europe-west4": "abc", "asia-southeast1": "bc"}),
    Family(sized("c4a-standard", _C4A, 4, 0.04492, "arm64", fmt=_NAME), spot=(0.55, 0.7),
           where=_C4A_WHERE),
    # G2: L4 comes with the machine type.
    Family((
        Shape("g2-standard-4", 4, 16, 0.70683, "L4", 1),
        Shape("g2-standard-8", 8, 32, 0.85362, "L4", 1),
        Shape("g2-standard-12", 12, 48, 1.00041, "L4", 1),
        Shape("g2-standard-16", 16, 64, 1.14720, "L4", 1),
        Shape("g2-standard-32", 32, 128, 1.73436, "L4", 1),
        Shape("g2-standard-24", 24, 96, 2.00083, "L4", 2),
        Shape("g2-standard-48", 48, 192, 4.00165, "L4", 4),
        Shape("g2-standard-96", 96, 384, 8.00331, "L4", 8),
    ), spot=(0.55, 0.7), where=_L4_WHERE, gpu=True),
    # A2: A100 40 GB (highgpu, megagpu) and 80 GB (ultragpu).
    Family((
        Shape("a2-highgpu-1g", 12, 85, 3.67338, "A100", 1),
        Shape("a2-highgpu-2g", 24, 170, 7.34677, "A100", 2),
        Shape("a2-highgpu-4g", 48, 340, 14.69354, "A100", 4),
        Shape("a2-highgpu-8g", 96, 680, 29.38708, "A100", 8),
        Shape("a2-megagpu-16g", 96, 1360, 55.73928, "A100", 16),
    ), spot=(0.6, 0.7), where=_A100_WHERE, gpu=True),
    Family((
        Shape("a2-ultragpu-1g", 12, 170, 5.06879, "A100-80GB", 1),
        Shape("a2-ultragpu-2g", 24, 340, 10.13759, "A100-80GB", 2),
        Shape("a2-ultragpu-4g", 48, 680, 20.27517, "A100-80GB", 4),
        Shape("a2-ultragpu-8g", 96, 1360, 40.55034, "A100-80GB", 8),
    ), spot=(0.55, 0.7), where=_A100_80_WHERE, gpu=True),
    # A3: H100 80 GB; A3 Ultra: H200; A4: B200.
    Family((Shape("a3-highgpu-8g", 208, 1872, 88.49, "H100", 8),), spot=(0.55, 0.65),
           where=_H100_WHERE, gpu=True),
    Family(tuple(_a3_small(n) for n in (1, 2, 4)), spot=(0.55, 0.65),
           where=_H100_SMALL_WHERE, gpu=True),
    Family((Shape("a3-ultragpu-8g", 224, 2952, 84.8069, "H200", 8),), spot=(0.5, 0.6),
           where={"us-central1": "b", "us-east4": "b", "us-east5": "a", "europe-west1": "b",
                  "asia-south1": "b"}, gpu=True),
    Family((Shape("a4-highgpu-8g", 224, 3968, 106.4104, "B200", 8),), spot=(0.45, 0.55),
           where={"us-central1": "b", "us-east4": "b", "us-west2": "c", "europe-west4": "b",
                  "asia-northeast1": "b"}, gpu=True),
)

# GPUs attached to N1 hosts. Host choices respect GCP's per-count limits (e.g. one V100:
# at most 12 vCPUs / 78 GB; one T4: at most 48 vCPUs).
GCP_ATTACH: tuple[Attach, ...] = (
    Attach("T4", 0.35, (0.55, 0.7), {
        1: ("n1-standard-4", "n1-standard-8", "n1-standard-16", "n1-standard-32",
            "n1-highmem-4", "n1-highmem-8", "n1-highmem-16", "n1-highmem-32"),
        2: ("n1-standard-8", "n1-standard-16", "n1-standard-32", "n1-highmem-16"),
        4: ("n1-standard-16", "n1-standard-32", "n1-standard-64", "n1-highmem-32"),
    }, {"us-central1": "abcf", "us-east1": "cd", "us-east4": "abc", "us-west1": "ab",
        "us-west2": "bc", "us-west4": "ab", "europe-west1": "bcd", "europe-west2": "ab",
        "europe-west3": "b", "europe-west4": "abc", "asia-east1": "ac",
        "asia-northeast1": "ac", "asia-northeast3": "bc", "asia-southeast1": "abc",
        "asia-south1": "ab"}),
    Attach("V100", 2.48, (0.6, 0.7), {
        1: ("n1-standard-4", "n1-standard-8", "n1-highmem-8"),
        2: ("n1-standard-8", "n1-standard-16", "n1-highmem-16"),
        4: ("n1-standard-16", "n1-standard-32", "n1-highmem-32"),
        8: ("n1-standard-32", "n1-standard-64", "n1-standard-96", "n1-highmem-64"),
    }, {"us-central1": "abcf", "us-east1": "c", "us-west1": "ab", "europe-west4": "abc",
        "asia-east1": "c"}),
    Attach("P100", 1.46, (0.6, 0.7), {
        1: ("n1-standard-4", "n1-standard-8", "n1-highmem-8"),
        2: ("n1-standard-8", "n1-standard-16"),
        4: ("n1-standard-16", "n1-standard-32"),
    }, {"us-central1": "cf", "us-east1": "bc", "us-west1": "ab", "europe-west1": "bd",
        "europe-west4": "a", "asia-east1": "ac"}),
    Attach("P4", 0.60, (0.6, 0.7), {
        1: ("n1-standard-4", "n1-standard-8", "n1-standard-16"),
        2: ("n1-standard-8", "n1-standard-16", "n1-standard-32"),
        4: ("n1-standard-16", "n1-standard-32", "n1-standard-64"),
    }, {"us-central1": "ac", "us-east4": "abc", "us-west2": "bc", "europe-west4": "bc",
        "asia-southeast1": "bc"}),
)


def rows() -> Iterator[Row]:
    """The snapshot's rows of this cloud."""
    for fam in GCP:
        for region, suffixes in places(fam, GCP_ZONES):
            assert set(suffixes) <= set(GCP_ZONES[region]), (region, suffixes)
            factor = GCP_FACTORS[region][1 if fam.gpu else 0]
            for shape in fam.shapes:
                price = shape.price * factor
                spot = None
                if fam.spot:  # GCP sets spot prices per region
                    spot = price * (1 - discount(fam.spot, "gcp", shape.name, region))
                for s in suffixes:
                    yield row(shape, region, region + "-" + s, price, spot)
    n1_spot = next(f.spot for f in GCP if f.shapes[0].name.startswith("n1-"))
    assert n1_spot is not None
    for att in GCP_ATTACH:
        for region, suffixes in att.where.items():
            assert set(suffixes) <= set(GCP_ZONES[region]), (region, suffixes)
            cpu_f, gpu_f = GCP_FACTORS[region]
            acc_price = att.price * gpu_f
            acc_spot = acc_price * (1 - discount(att.spot, "gcp", att.acc, region))
            for count, hosts in att.hosts.items():
                for host_name in hosts:
                    host = N1_BY_NAME[host_name]
                    host_price = host.price * cpu_f
                    host_spot = host_price * (1 - discount(n1_spot, "gcp", host.name, region))
                    price = host_price + count * acc_price
                    spot = host_spot + count * acc_spot
                    for s in suffixes:
                        yield row(host, region, region + "-" + s, price, spot, att.acc, count)
    yield from tpu_rows()


def tpu_rows() -> Iterator[Row]:
    """One row per single-host TPU VM type and zone: the TPU is the machine (its price
    covers the host), named and counted as one accelerator, `tpu-v2-8` × 1."""
    from stix.clouds.gcp.tpu import GENERATIONS, REGION_FACTOR

    for gen in GENERATIONS:
        for region, suffixes in gen.where.items():
            for h in gen.hosts:
                name = "tpu-" + h.accelerator_type
                price = round(gen.chip_hour * h.chips * REGION_FACTOR.get(region, 1.0), 4)
                spot = price * (1 - discount(gen.spot, "gcp", name, region))
                spot_text = num(min(max(spot, 0.0001), price - 0.0001))
                for s in suffixes:
                    yield (name, num(h.vcpus), num(h.memory_gib), name, "1",
                           num(h.chips * gen.hbm_gib_per_chip), region, f"{region}-{s}",
                           num(price), spot_text, "x86_64", ESTIMATED, ESTIMATED,
                           SNAPSHOT_DATE)  # fmt: skip


# Boot images (see catalog_data/README.md): references that resolve at deploy time.
_GCP_FAMILY = "projects/{p}/global/images/family/{f}"
_DLVM_NOTE = ("Google Deep Learning VM (common, CUDA 12.9, driver 580): for N1+GPU, G2, "
              "A2, A3, A4")  # fmt: skip
IMAGES: tuple[Image, ...] = (
    ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04",
     _GCP_FAMILY.format(p="ubuntu-os-cloud", f="ubuntu-2204-lts"),
     "Canonical image family; default CPU image"),
    ("ubuntu-22.04-arm64", "*", "ubuntu-22.04",
     _GCP_FAMILY.format(p="ubuntu-os-cloud", f="ubuntu-2204-lts-arm64"),
     "Canonical image family; default for T2A/C4A"),
    ("ubuntu-24.04-x86_64", "*", "ubuntu-24.04",
     _GCP_FAMILY.format(p="ubuntu-os-cloud", f="ubuntu-2404-lts-amd64"),
     "Canonical image family"),
    ("ubuntu-24.04-arm64", "*", "ubuntu-24.04",
     _GCP_FAMILY.format(p="ubuntu-os-cloud", f="ubuntu-2404-lts-arm64"),
     "Canonical image family"),
    ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04",
     _GCP_FAMILY.format(p="deeplearning-platform-release",
                        f="common-cu129-ubuntu-2204-nvidia-580"),
     _DLVM_NOTE + "; default GPU image"),
    ("gpu-ubuntu-24.04-x86_64", "*", "ubuntu-24.04",
     _GCP_FAMILY.format(p="deeplearning-platform-release",
                        f="common-cu129-ubuntu-2404-nvidia-580"), _DLVM_NOTE),
)
