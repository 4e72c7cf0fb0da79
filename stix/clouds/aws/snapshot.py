"""AWS EC2: regions, zones, instance families and us-east-1 list prices."""

from __future__ import annotations

from collections.abc import Iterator

from stix.catalog.snapshot import Family, Image, Row, Shape, discount, places, row, sized

AWS_ZONES = {
    "us-east-1": "abcdf", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
    "eu-west-1": "abc", "eu-west-2": "abc", "eu-west-3": "abc", "eu-central-1": "abc",
    "eu-north-1": "abc", "ap-northeast-1": "acd", "ap-northeast-2": "abcd",
    "ap-southeast-1": "abc", "ap-southeast-2": "abc", "ap-south-1": "abc",
}  # fmt: skip
# (CPU factor, GPU factor) relative to us-east-1.
AWS_FACTORS = {
    "us-east-1": (1.0, 1.0), "us-east-2": (1.0, 1.0), "us-west-2": (1.0, 1.0),
    "us-west-1": (1.167, 1.2), "eu-west-1": (1.111, 1.116), "eu-west-2": (1.167, 1.171),
    "eu-west-3": (1.167, 1.18), "eu-central-1": (1.19, 1.25), "eu-north-1": (1.063, 1.083),
    "ap-northeast-1": (1.286, 1.45), "ap-northeast-2": (1.238, 1.28),
    "ap-southeast-1": (1.25, 1.38), "ap-southeast-2": (1.25, 1.4),
    "ap-south-1": (1.05, 1.19),
}  # fmt: skip

_X86 = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
        "12xlarge": 48, "16xlarge": 64, "24xlarge": 96, "48xlarge": 192}  # fmt: skip
_M6I = {k: v for k, v in _X86.items() if v <= 96} | {"32xlarge": 128}
_GRAVITON = {"medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16,
             "8xlarge": 32, "12xlarge": 48, "16xlarge": 64}  # fmt: skip
_M7A_REGIONS = {r: AWS_ZONES[r] for r in (
    "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "eu-north-1",
    "ap-northeast-1", "ap-south-1")}  # fmt: skip

_G5_WHERE = {"us-east-1": "abcdf", "us-east-2": "abc", "us-west-2": "abc",
             "eu-central-1": "ab", "eu-west-1": "abc", "eu-west-2": "ab", "eu-north-1": "ab",
             "ap-northeast-1": "ac", "ap-northeast-2": "ac", "ap-south-1": "ab",
             "ap-southeast-2": "ab"}  # fmt: skip
_G6_WHERE = {"us-east-1": "abcdf", "us-east-2": "abc", "us-west-2": "abcd",
             "eu-central-1": "ab", "eu-west-2": "ab", "eu-north-1": "abc",
             "ap-northeast-1": "ac", "ap-south-1": "ab"}  # fmt: skip
_G6E_WHERE = {"us-east-1": "abcdf", "us-east-2": "abc", "us-west-2": "abcd",
              "eu-central-1": "ab", "eu-north-1": "ab", "ap-northeast-1": "ac"}  # fmt: skip

_M5 = {k: v for k, v in _X86.items() if v <= 96}
_C5 = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "9xlarge": 36, "12xlarge": 48,
       "18xlarge": 72, "24xlarge": 96}  # fmt: skip

AWS: tuple[Family, ...] = (
    # The previous generation SkyPilot task files still name (m5.xlarge, c5.2xlarge ...).
    Family(sized("m5", _M5, 4, 0.048), spot=(0.5, 0.7)),
    Family(sized("c5", _C5, 2, 0.0425), spot=(0.5, 0.7)),
    Family(sized("r5", _M5, 8, 0.063), spot=(0.5, 0.7)),
    # General purpose, compute and memory optimized, x86 (Intel, AMD) and Graviton (arm64).
    Family(sized("m6i", _M6I, 4, 0.048), spot=(0.55, 0.75)),
    Family(sized("m7i", _X86, 4, 0.0504), spot=(0.55, 0.75)),
    Family(sized("c7i", _X86, 2, 0.044625), spot=(0.55, 0.75)),
    Family(sized("r7i", _X86, 8, 0.06615), spot=(0.55, 0.75)),
    Family(sized("m7a", _X86, 4, 0.05796), spot=(0.5, 0.7), where=_M7A_REGIONS),
    Family(sized("m7g", _GRAVITON, 4, 0.0408, "arm64"), spot=(0.55, 0.72)),
    Family(sized("c7g", _GRAVITON, 2, 0.03625, "arm64"), spot=(0.55, 0.72)),
    Family(sized("r7g", _GRAVITON, 8, 0.05355, "arm64"), spot=(0.55, 0.72)),
    # NVIDIA T4.
    Family((
        Shape("g4dn.xlarge", 4, 16, 0.526, "T4", 1),
        Shape("g4dn.2xlarge", 8, 32, 0.752, "T4", 1),
        Shape("g4dn.4xlarge", 16, 64, 1.204, "T4", 1),
        Shape("g4dn.8xlarge", 32, 128, 2.176, "T4", 1),
        Shape("g4dn.16xlarge", 64, 256, 4.352, "T4", 1),
        Shape("g4dn.12xlarge", 48, 192, 3.912, "T4", 4),
        Shape("g4dn.metal", 96, 384, 7.824, "T4", 8),
    ), spot=(0.55, 0.72), gpu=True),
    # NVIDIA A10G.
    Family((
        Shape("g5.xlarge", 4, 16, 1.006, "A10G", 1),
        Shape("g5.2xlarge", 8, 32, 1.212, "A10G", 1),
        Shape("g5.4xlarge", 16, 64, 1.624, "A10G", 1),
        Shape("g5.8xlarge", 32, 128, 2.448, "A10G", 1),
        Shape("g5.16xlarge", 64, 256, 4.096, "A10G", 1),
        Shape("g5.12xlarge", 48, 192, 5.672, "A10G", 4),
        Shape("g5.24xlarge", 96, 384, 8.144, "A10G", 4),
        Shape("g5.48xlarge", 192, 768, 16.288, "A10G", 8),
    ), spot=(0.55, 0.7), where=_G5_WHERE, gpu=True),
    # NVIDIA L4.
    Family((
        Shape("g6.xlarge", 4, 16, 0.8048, "L4", 1),
        Shape("g6.2xlarge", 8, 32, 0.9776, "L4", 1),
        Shape("g6.4xlarge", 16, 64, 1.3232, "L4", 1),
        Shape("g6.8xlarge", 32, 128, 2.0144, "L4", 1),
        Shape("g6.16xlarge", 64, 256, 3.3968, "L4", 1),
        Shape("g6.12xlarge", 48, 192, 4.6016, "L4", 4),
        Shape("g6.24xlarge", 96, 384, 6.6752, "L4", 4),
        Shape("g6.48xlarge", 192, 768, 13.3504, "L4", 8),
    ), spot=(0.5, 0.68), where=_G6_WHERE, gpu=True),
    # NVIDIA L40S.
    Family((
        Shape("g6e.xlarge", 4, 32, 1.861, "L40S", 1),
        Shape("g6e.2xlarge", 8, 64, 2.24208, "L40S", 1),
        Shape("g6e.4xlarge", 16, 128, 3.00424, "L40S", 1),
        Shape("g6e.8xlarge", 32, 256, 4.52856, "L40S", 1),
        Shape("g6e.16xlarge", 64, 512, 7.57719, "L40S", 1),
        Shape("g6e.12xlarge", 48, 384, 10.49264, "L40S", 4),
        Shape("g6e.24xlarge", 96, 768, 15.06559, "L40S", 4),
        Shape("g6e.48xlarge", 192, 1536, 30.13118, "L40S", 8),
    ), spot=(0.45, 0.65), where=_G6E_WHERE, gpu=True),
    # NVIDIA V100 32 GB (p3dn). AWS retired P3 (V100 16 GB) and P2 (K80): `AwsCloud.retired`.
    Family((Shape("p3dn.24xlarge", 96, 768, 31.212, "V100-32GB", 8),),
           spot=(0.55, 0.7), where={"us-east-1": "abcdf", "us-west-2": "abcd",
                                    "ap-northeast-1": "cd"}, gpu=True),
    # NVIDIA A100 40 GB / 80 GB (prices after AWS's June 2025 P4/P5 reduction).
    Family((Shape("p4d.24xlarge", 96, 1152, 21.9576, "A100", 8),), spot=(0.4, 0.6),
           where={"us-east-1": "abcd", "us-east-2": "b", "us-west-2": "abc",
                  "eu-west-1": "ac", "eu-central-1": "bc", "ap-northeast-1": "ac",
                  "ap-northeast-2": "b"}, gpu=True),
    Family((Shape("p4de.24xlarge", 96, 1152, 27.4471, "A100-80GB", 8),), spot=(0.4, 0.55),
           where={"us-east-1": "abc", "us-west-2": "b"}, gpu=True),
    # NVIDIA H100 80 GB.
    Family((Shape("p5.48xlarge", 192, 2048, 55.04, "H100", 8),), spot=(0.3, 0.55),
           where={"us-east-1": "abcdf", "us-east-2": "abc", "us-west-2": "abcd",
                  "eu-north-1": "ab", "eu-west-2": "ab", "ap-northeast-1": "ac",
                  "ap-south-1": "b"}, gpu=True),
    Family((Shape("p5.4xlarge", 16, 256, 6.88, "H100", 1),), spot=(0.3, 0.55),
           where={"us-east-1": "abc", "us-east-2": "ab", "us-west-2": "abc",
                  "eu-north-1": "a", "ap-northeast-1": "ac"}, gpu=True),
    # NVIDIA H200 141 GB (p5e has no published on-demand price: left out).
    Family((Shape("p5en.48xlarge", 192, 2048, 63.296, "H200", 8),), spot=(0.25, 0.45),
           where={"us-east-1": "abc", "us-east-2": "ab", "us-west-2": "abcd",
                  "ap-northeast-1": "c"}, gpu=True),
    # AWS Trainium and Inferentia, Intel Gaudi (dl1), Graviton with NVIDIA T4G (g5g).
    Family((
        Shape("trn1.2xlarge", 8, 32, 1.34375, "Trainium", 1),
        Shape("trn1.32xlarge", 128, 512, 21.5, "Trainium", 16),
        Shape("trn1n.32xlarge", 128, 512, 24.78, "Trainium", 16),
    ), spot=(0.4, 0.6), where={"us-east-1": "abc", "us-west-2": "abc"}, gpu=True),
    Family((
        Shape("inf2.xlarge", 4, 16, 0.7582, "Inferentia2", 1),
        Shape("inf2.8xlarge", 32, 128, 1.9679, "Inferentia2", 1),
        Shape("inf2.24xlarge", 96, 384, 6.4906, "Inferentia2", 6),
        Shape("inf2.48xlarge", 192, 768, 12.9813, "Inferentia2", 12),
    ), spot=(0.5, 0.7), where={"us-east-1": "abc", "us-east-2": "abc", "us-west-2": "abc",
                               "eu-west-1": "abc", "ap-northeast-1": "ac"}, gpu=True),
    Family((
        Shape("inf1.xlarge", 4, 8, 0.228, "Inferentia", 1),
        Shape("inf1.2xlarge", 8, 16, 0.362, "Inferentia", 1),
        Shape("inf1.6xlarge", 24, 48, 1.18, "Inferentia", 4),
        Shape("inf1.24xlarge", 96, 192, 4.721, "Inferentia", 16),
    ), spot=(0.6, 0.75), where={"us-east-1": "abc", "us-west-2": "abc"}, gpu=True),
    Family((Shape("dl1.24xlarge", 96, 768, 13.10904, "Gaudi", 8),), spot=(0.5, 0.65),
           where={"us-east-1": "abc", "us-west-2": "abc"}, gpu=True),
    Family((
        Shape("g5g.xlarge", 4, 8, 0.42, "T4g", 1, "arm64"),
        Shape("g5g.2xlarge", 8, 16, 0.556, "T4g", 1, "arm64"),
        Shape("g5g.4xlarge", 16, 32, 0.828, "T4g", 1, "arm64"),
        Shape("g5g.8xlarge", 32, 64, 1.372, "T4g", 1, "arm64"),
        Shape("g5g.16xlarge", 64, 128, 2.744, "T4g", 2, "arm64"),
    ), spot=(0.55, 0.7), where={"us-east-1": "abc", "us-west-2": "abc", "eu-west-1": "abc"},
        gpu=True),
    # NVIDIA B200.
    Family((Shape("p6-b200.48xlarge", 192, 2048, 113.9328, "B200", 8),), spot=(0.3, 0.5),
           where={"us-east-1": "ab", "us-east-2": "ab", "us-west-2": "abc"}, gpu=True),
)


def rows() -> Iterator[Row]:
    """The snapshot's rows of this cloud."""
    for fam in AWS:
        for region, suffixes in places(fam, AWS_ZONES):
            assert set(suffixes) <= set(AWS_ZONES[region]), (region, suffixes)
            factor = AWS_FACTORS[region][1 if fam.gpu else 0]
            for shape in fam.shapes:
                price = shape.price * factor
                for s in suffixes:
                    zone = region + s
                    spot = None
                    if fam.spot and region not in fam.no_spot_regions:
                        spot = price * (1 - discount(fam.spot, "aws", shape.name, zone))
                    yield row(shape, region, zone, price, spot)


# Boot images (see catalog_data/README.md): references that resolve at deploy time.
_SSM_UBUNTU = ("resolve:ssm:/aws/service/canonical/ubuntu/server/{v}/stable/current/{a}/hvm/{d}"
               "/ami-id")
_SSM_DLAMI = ("resolve:ssm:/aws/service/deeplearning/ami/{a}/base-oss-nvidia-driver-gpu-ubuntu-"
              "{v}/latest/ami-id")
_DLAMI_NOTE = ("AWS Deep Learning Base OSS NVIDIA Driver GPU AMI: driver, CUDA, Docker, "
               "NVIDIA container toolkit, EFA; for G4dn/G5/G6/G6e/P4/P5/P6")  # fmt: skip
IMAGES: tuple[Image, ...] = (
    ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04",
     _SSM_UBUNTU.format(v="22.04", a="amd64", d="ebs-gp2"),
     "Canonical public SSM parameter; default CPU image"),
    ("ubuntu-22.04-arm64", "*", "ubuntu-22.04",
     _SSM_UBUNTU.format(v="22.04", a="arm64", d="ebs-gp2"),
     "Canonical public SSM parameter; default for Graviton"),
    ("ubuntu-24.04-x86_64", "*", "ubuntu-24.04",
     _SSM_UBUNTU.format(v="24.04", a="amd64", d="ebs-gp3"), "Canonical public SSM parameter"),
    ("ubuntu-24.04-arm64", "*", "ubuntu-24.04",
     _SSM_UBUNTU.format(v="24.04", a="arm64", d="ebs-gp3"), "Canonical public SSM parameter"),
    ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04",
     _SSM_DLAMI.format(v="22.04", a="x86_64"), _DLAMI_NOTE + "; default GPU image"),
    ("gpu-ubuntu-24.04-x86_64", "*", "ubuntu-24.04",
     _SSM_DLAMI.format(v="24.04", a="x86_64"), _DLAMI_NOTE),
    ("neuron-ubuntu-22.04-x86_64", "*", "ubuntu-22.04",
     "resolve:ssm:/aws/service/neuron/dlami/multi-framework/ubuntu-22.04/latest/image_id",
     "AWS Deep Learning AMI Neuron (multi-framework): Neuron driver and SDK; default for "
     "Trainium and Inferentia (trn1, trn2, inf1, inf2)"),
)
