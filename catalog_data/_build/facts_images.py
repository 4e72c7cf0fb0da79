"""Boot images per cloud as references that resolve at deploy time (never pinned ids).

Tag scheme: `ubuntu-<version>-<arch>` for plain images, `gpu-ubuntu-<version>-<arch>` for
images with the NVIDIA driver and CUDA installed. Region `*`: the reference works in
every region (AWS resolves the public SSM parameter in the region of the launch).
"""

from __future__ import annotations

IMAGE_COLUMNS = ("tag", "region", "os", "image_ref", "notes")

_SSM_UBUNTU = "resolve:ssm:/aws/service/canonical/ubuntu/server/{v}/stable/current/{a}/hvm/{d}/ami-id"  # noqa: E501
_SSM_DLAMI = "resolve:ssm:/aws/service/deeplearning/ami/{a}/base-oss-nvidia-driver-gpu-ubuntu-{v}/latest/ami-id"  # noqa: E501
_GCP_FAMILY = "projects/{p}/global/images/family/{f}"

_DLAMI_NOTE = ("AWS Deep Learning Base OSS NVIDIA Driver GPU AMI: driver, CUDA, Docker, "
               "NVIDIA container toolkit, EFA; for G4dn/G5/G6/G6e/P4/P5/P6")  # fmt: skip
_DLVM_NOTE = ("Google Deep Learning VM (common, CUDA 12.9, driver 580): for N1+GPU, G2, "
              "A2, A3, A4")  # fmt: skip
_HPC_NOTE = ("Azure Ubuntu-HPC image (microsoft-dsvm): NVIDIA driver, CUDA, InfiniBand; "
             "NVadsA10_v5 needs the GRID driver (NvidiaGpuDriverLinux extension)")  # fmt: skip

IMAGES: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "aws": (
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
    ),
    "gcp": (
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
    ),
    "azure": (
        ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04",
         "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest",
         "Marketplace URN (Hyper-V gen2); default CPU image"),
        ("ubuntu-22.04-arm64", "*", "ubuntu-22.04",
         "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-arm64:latest",
         "Marketplace URN; default for Dpsv5"),
        ("ubuntu-24.04-x86_64", "*", "ubuntu-24.04", "Canonical:ubuntu-24_04-lts:server:latest",
         "Marketplace URN (gen2)"),
        ("ubuntu-24.04-arm64", "*", "ubuntu-24.04",
         "Canonical:ubuntu-24_04-lts:server-arm64:latest", "Marketplace URN"),
        ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "microsoft-dsvm:ubuntu-hpc:2204:latest",
         _HPC_NOTE + "; default GPU image"),
        ("gpu-ubuntu-24.04-x86_64", "*", "ubuntu-24.04", "microsoft-dsvm:ubuntu-hpc:2404:latest",
         _HPC_NOTE),
    ),
}
