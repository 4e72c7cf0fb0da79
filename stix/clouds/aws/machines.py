"""The EC2 instance types stix knows, as AWS publishes them (the EC2 instance type
specifications pages and DescribeInstanceTypes; accelerated computing as of 2026-05).

Kept with the price fetcher: the Price List gives vCPUs, memory and a GPU count but not
which accelerator a type carries (nor Trainium/Inferentia/Gaudi counts), so the fetcher
takes those from `ACCELERATED`; the snapshot's types are checked against `TYPES`.
"""

from __future__ import annotations

from stix.clouds.base import MachineType

SOURCE = "EC2 instance type specifications (docs.aws.amazon.com/ec2/latest/instancetypes), 2026-05"

_SIZES = {"medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
          "12xlarge": 48, "16xlarge": 64, "24xlarge": 96, "32xlarge": 128, "48xlarge": 192}
# family → (GiB per vCPU, largest size, smallest size, arch)
_CPU = {
    "m5": (4, "24xlarge", "large", "x86_64"), "c5": (2, "24xlarge", "large", "x86_64"),
    "r5": (8, "24xlarge", "large", "x86_64"),
    "m6i": (4, "32xlarge", "large", "x86_64"), "c6i": (2, "32xlarge", "large", "x86_64"),
    "r6i": (8, "32xlarge", "large", "x86_64"),
    "m6a": (4, "48xlarge", "large", "x86_64"), "c6a": (2, "48xlarge", "large", "x86_64"),
    "r6a": (8, "48xlarge", "large", "x86_64"),
    "m7i": (4, "48xlarge", "large", "x86_64"), "c7i": (2, "48xlarge", "large", "x86_64"),
    "r7i": (8, "48xlarge", "large", "x86_64"),
    "m7a": (4, "48xlarge", "medium", "x86_64"), "c7a": (2, "48xlarge", "medium", "x86_64"),
    "r7a": (8, "48xlarge", "medium", "x86_64"),
    "m6g": (4, "16xlarge", "medium", "arm64"), "c6g": (2, "16xlarge", "medium", "arm64"),
    "r6g": (8, "16xlarge", "medium", "arm64"),
    "m7g": (4, "16xlarge", "medium", "arm64"), "c7g": (2, "16xlarge", "medium", "arm64"),
    "r7g": (8, "16xlarge", "medium", "arm64"),
    "m8g": (4, "48xlarge", "medium", "arm64"), "c8g": (2, "48xlarge", "medium", "arm64"),
    "r8g": (8, "48xlarge", "medium", "arm64"),
}  # fmt: skip
_C5_ODD = {"c5.9xlarge": 36, "c5.18xlarge": 72}  # c5 skips 8x/16x and has 9x/18x
_C5_MISSING = ("c5.8xlarge", "c5.16xlarge", "c5.32xlarge")
# Burstable (CPU credits): (vCPUs, GiB) per size.
_BURST = {"nano": (2, 0.5), "micro": (2, 1), "small": (2, 2), "medium": (2, 4),
          "large": (2, 8), "xlarge": (4, 16), "2xlarge": (8, 32)}  # fmt: skip

# Accelerated computing: type → (vCPUs, GiB, accelerator, count).
ACCELERATED: dict[str, tuple[float, float, str, float]] = {
    "g4dn.xlarge": (4, 16, "T4", 1), "g4dn.2xlarge": (8, 32, "T4", 1),
    "g4dn.4xlarge": (16, 64, "T4", 1), "g4dn.8xlarge": (32, 128, "T4", 1),
    "g4dn.16xlarge": (64, 256, "T4", 1), "g4dn.12xlarge": (48, 192, "T4", 4),
    "g4dn.metal": (96, 384, "T4", 8),
    "g5g.xlarge": (4, 8, "T4g", 1), "g5g.2xlarge": (8, 16, "T4g", 1),
    "g5g.4xlarge": (16, 32, "T4g", 1), "g5g.8xlarge": (32, 64, "T4g", 1),
    "g5g.16xlarge": (64, 128, "T4g", 2), "g5g.metal": (64, 128, "T4g", 2),
    "g5.xlarge": (4, 16, "A10G", 1), "g5.2xlarge": (8, 32, "A10G", 1),
    "g5.4xlarge": (16, 64, "A10G", 1), "g5.8xlarge": (32, 128, "A10G", 1),
    "g5.16xlarge": (64, 256, "A10G", 1), "g5.12xlarge": (48, 192, "A10G", 4),
    "g5.24xlarge": (96, 384, "A10G", 4), "g5.48xlarge": (192, 768, "A10G", 8),
    "g6.xlarge": (4, 16, "L4", 1), "g6.2xlarge": (8, 32, "L4", 1),
    "g6.4xlarge": (16, 64, "L4", 1), "g6.8xlarge": (32, 128, "L4", 1),
    "g6.16xlarge": (64, 256, "L4", 1), "g6.12xlarge": (48, 192, "L4", 4),
    "g6.24xlarge": (96, 384, "L4", 4), "g6.48xlarge": (192, 768, "L4", 8),
    "gr6.4xlarge": (16, 128, "L4", 1), "gr6.8xlarge": (32, 256, "L4", 1),
    "g6f.large": (2, 8, "L4", 0.125), "g6f.xlarge": (4, 16, "L4", 0.125),
    "g6f.2xlarge": (8, 32, "L4", 0.25), "g6f.4xlarge": (16, 64, "L4", 0.5),
    "g6e.xlarge": (4, 32, "L40S", 1), "g6e.2xlarge": (8, 64, "L40S", 1),
    "g6e.4xlarge": (16, 128, "L40S", 1), "g6e.8xlarge": (32, 256, "L40S", 1),
    "g6e.16xlarge": (64, 512, "L40S", 1), "g6e.12xlarge": (48, 384, "L40S", 4),
    "g6e.24xlarge": (96, 768, "L40S", 4), "g6e.48xlarge": (192, 1536, "L40S", 8),
    "p3.2xlarge": (8, 61, "V100", 1), "p3.8xlarge": (32, 244, "V100", 4),
    "p3.16xlarge": (64, 488, "V100", 8), "p3dn.24xlarge": (96, 768, "V100-32GB", 8),
    "p4d.24xlarge": (96, 1152, "A100", 8), "p4de.24xlarge": (96, 1152, "A100-80GB", 8),
    "p5.4xlarge": (16, 256, "H100", 1), "p5.48xlarge": (192, 2048, "H100", 8),
    "p5e.48xlarge": (192, 2048, "H200", 8), "p5en.48xlarge": (192, 2048, "H200", 8),
    "p6-b200.48xlarge": (192, 2048, "B200", 8), "p6-b300.48xlarge": (192, 4096, "B300", 8),
    "trn1.2xlarge": (8, 32, "Trainium", 1), "trn1.32xlarge": (128, 512, "Trainium", 16),
    "trn1n.32xlarge": (128, 512, "Trainium", 16), "trn2.48xlarge": (192, 2048, "Trainium2", 16),
    "inf1.xlarge": (4, 8, "Inferentia", 1), "inf1.2xlarge": (8, 16, "Inferentia", 1),
    "inf1.6xlarge": (24, 48, "Inferentia", 4), "inf1.24xlarge": (96, 192, "Inferentia", 16),
    "inf2.xlarge": (4, 16, "Inferentia2", 1), "inf2.8xlarge": (32, 128, "Inferentia2", 1),
    "inf2.24xlarge": (96, 384, "Inferentia2", 6), "inf2.48xlarge": (192, 768, "Inferentia2", 12),
    "dl1.24xlarge": (96, 768, "Gaudi", 8),
}  # fmt: skip


def _build() -> dict[str, MachineType]:
    names = list(_SIZES)
    out: dict[str, MachineType] = {}
    for family, (ratio, largest, smallest, arch) in _CPU.items():
        for size in names[names.index(smallest):names.index(largest) + 1]:
            name = f"{family}.{size}"
            if name in _C5_MISSING:
                continue
            n = _SIZES[size]
            out[name] = MachineType(name, n, float(n * ratio), arch=arch)
    for name, n in _C5_ODD.items():
        out[name] = MachineType(name, n, float(n * 2))
    for family, arch in (("t3", "x86_64"), ("t3a", "x86_64"), ("t4g", "arm64")):
        for size, (n, gib) in _BURST.items():
            name = f"{family}.{size}"
            out[name] = MachineType(name, n, gib, arch=arch, shared_core=True)
    for name, (vcpus, memory, acc, count) in ACCELERATED.items():
        arch = "arm64" if name.startswith("g5g.") else "x86_64"
        out[name] = MachineType(name, vcpus, memory, acc, count, arch)
    return out


TYPES = _build()
