"""Every way the optimizer can refuse, with the message a user reads (fixture catalog)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stix.catalog import Catalog, load_catalog
from stix.errors import StixError, UsageError
from stix.optimizer import NothingFitsError, optimize
from stix.task import Task, parse_tasks

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(FIXTURES / "catalog_small")


def task(yaml_text: str) -> Task:
    return parse_tasks(yaml_text).tasks[0]


def refusal(catalog: Catalog, yaml_text: str, **kwargs: object) -> str:
    with pytest.raises(NothingFitsError) as info:
        optimize(task(yaml_text), catalog, **kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    return str(info.value)


CASES = [
    # accelerator count: the nearest counts on offer, with where and how much.
    ("resources: {accelerators: A100:16}",
     "nothing fits: A100:16 is not offered; A100:8 is, from $27.20/h in azure eastus "
     "(Standard_ND96asr_v4); also A100:1 from $3.67/h in gcp us-central1 us-central1-a "
     "(a2-highgpu-1g)"),
    # unknown accelerator name.
    ("resources: {accelerators: A1000:1}",
     "nothing fits: accelerator 'A1000' is not in the catalog (did you mean 'A100'?); "
     "offered: A100, A100-80GB, A10G, H100, L4, T4"),
    # unknown instance type.
    ("resources: {instance_type: p4d.24xlarg}",
     "nothing fits: instance type 'p4d.24xlarg' is not in the catalog "
     "(did you mean 'p4d.24xlarge'?)"),
    # instance type that does not carry the accelerator.
    ("resources: {instance_type: g4dn.xlarge, accelerators: A100:1}",
     "nothing fits: instance type g4dn.xlarge does not come with A100:1; A100:1 comes with "
     "gcp us-central1 us-central1-a (a2-highgpu-1g) from $3.67/h"),
    # exact cpus: the nearest sizes.
    ("resources: {cpus: 3}",
     "nothing fits: no machine has cpus=3; nearest: 2 vCPUs from $0.096/h in aws us-east-1 "
     "us-east-1a (m6i.large), 4 vCPUs from $0.134/h in gcp us-central1 us-central1-a "
     "(e2-standard-4), 8 vCPUs from $0.384/h in aws us-east-1 us-east-1a (m6i.2xlarge)"),
    # memory with an accelerator.
    ("resources: {accelerators: T4, memory: 64+}",
     "nothing fits: T4:1 has no offer with memory=64+; nearest: 30 GiB memory from $0.73/h in "
     "gcp us-central1 us-central1-a (n1-standard-8), 28 GiB memory from $0.526/h in azure "
     "eastus (Standard_NC4as_T4_v3), 16 GiB memory from $0.526/h in aws us-east-1 us-east-1a "
     "(g4dn.xlarge)"),
    # a pinned cloud that does not sell it.
    ("resources: {cloud: aws, accelerators: L4}",
     "nothing fits: L4:1 is not offered in aws; it is in gcp us-central1 us-central1-a "
     "(g2-standard-4) from $0.7068/h, gcp europe-west4 europe-west4-a (g2-standard-4) from "
     "$0.7783/h"),
    # a region with a typo.
    ("resources: {infra: aws/us-est-1, accelerators: A100:8}",
     "nothing fits: A100:8 is not offered in region us-est-1 (did you mean 'us-east-1'?); it "
     "is in aws us-east-1 us-east-1a (p4d.24xlarge) from $32.77/h, aws us-west-2 us-west-2a "
     "(p4d.24xlarge) from $32.77/h"),
    # a zone.
    ("resources: {infra: aws/us-east-1/us-east-1c, accelerators: T4}",
     "nothing fits: T4:1 is not offered in zone us-east-1c; it is in aws us-east-1 us-east-1a "
     "(g4dn.xlarge) from $0.526/h"),
    # image regions.
    ("resources: {accelerators: H100:8, image_id: {us-west-2: ami-1}}",
     "nothing fits: image_id maps only regions us-west-2, where H100:8 is not offered; it is "
     "in aws us-east-1 us-east-1a (p5.48xlarge) from $98.32/h"),
    # spot market missing.
    ("resources: {accelerators: H100:8, use_spot: true}",
     "nothing fits: H100:8 has no spot price where it fits; on demand: aws us-east-1 "
     "us-east-1a (p5.48xlarge) from $98.32/h"),
    # price cap, per node.
    ("resources: {accelerators: A100:1, max_hourly_cost: 3}",
     "nothing fits: the cheapest A100:1 that fits costs $3.67/h per node in gcp us-central1 "
     "us-central1-a (a2-highgpu-1g), above max_hourly_cost $3.00/h"),
    # price cap on a CPU task: the arm64 m7g.xlarge ($0.1632) would pass the cap, but is
    # not x86_64, so the cheapest that fits is m6i.xlarge.
    ("resources: {infra: aws, cpus: 4, memory: 16, max_hourly_cost: 0.17}",
     "nothing fits: the cheapest CPU machine (cpus=4, memory=16) that fits costs $0.192/h per "
     "node in aws us-east-1 us-east-1a (m6i.xlarge), above max_hourly_cost $0.17/h"),
]


@pytest.mark.parametrize(("yaml_text", "message"), CASES, ids=[c[0] for c in CASES])
def test_refusal_names_the_constraint(catalog: Catalog, yaml_text: str, message: str) -> None:
    assert refusal(catalog, yaml_text) == message


def test_cloud_not_enabled(catalog: Catalog) -> None:
    assert refusal(catalog, "resources: {accelerators: L4}", clouds=["aws", "azure"]) == (
        "nothing fits: L4:1 is offered only in gcp, not in the enabled clouds (aws, azure: "
        "`clouds` (--cloud), the task's buckets or allowed_clouds in the user config chose them)")
    assert refusal(catalog, "resources: {cloud: gcp}", clouds=["aws"]) == (
        "nothing fits: cloud gcp is pinned but not enabled here (enabled: aws)")


def test_ordered_alternatives_each_get_a_reason(catalog: Catalog) -> None:
    text = refusal(catalog, "resources: {accelerators: [A100:16, H100:16]}")
    assert text.splitlines() == [
        "nothing fits any alternative:",
        "  - A100:16: A100:16 is not offered; A100:8 is, from $27.20/h in azure eastus "
        "(Standard_ND96asr_v4); also A100:1 from $3.67/h in gcp us-central1 us-central1-a "
        "(a2-highgpu-1g)",
        "  - H100:16: H100:16 is not offered; H100:8 is, from $98.32/h in aws us-east-1 "
        "us-east-1a (p5.48xlarge)",
    ]
    assert len(NothingFitsError(["a", "b"]).reasons) == 2


def test_default_size_is_named_when_it_is_the_reason() -> None:
    small = Catalog([_offer("aws", "t3.small", 2, 2)])
    text = str(_refuse(small, "name: t"))
    assert text.startswith("nothing fits: no machine has cpus=8+ (stix's default when a task "
                           "asks for nothing); nearest: 2 vCPUs")


def test_arch_only_by_name() -> None:
    arm = Catalog([_offer("aws", "m7g.xlarge", 4, 16, arch="arm64")])
    assert str(_refuse(arm, "resources: {cpus: 4}")) == (
        "nothing fits: CPU machine (cpus=4) is offered only on arm64 here, e.g. aws us-east-1 "
        "(m7g.xlarge) from $0.1/h; name the instance_type to use one")
    chosen = optimize(task("resources: {instance_type: m7g.xlarge}"), arm).chosen
    assert chosen.arch == "arm64"


def test_empty_catalog() -> None:
    assert str(_refuse(Catalog([]), "name: t")) == (
        "nothing fits: the catalog has no offers (see `stix catalog` and STIX_CATALOG_DIR)")


def test_unserved_cloud_is_a_usage_error(catalog: Catalog) -> None:
    with pytest.raises(UsageError, match="resources pin cloud 'fluidstack', which stix does not "
                                         "serve; it serves aws, azure, "):
        optimize(task("resources: {cloud: fluidstack}"), catalog)
    with pytest.raises(UsageError, match="cloud 'fluidstack' is not one stix serves"):
        optimize(task("name: t"), catalog, clouds=["fluidstack"])


def test_bad_arguments(catalog: Catalog) -> None:
    with pytest.raises(UsageError, match="target must be 'cost' or 'time'"):
        optimize(task("name: t"), catalog, target="speed")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="candidates must be at least 1"):
        optimize(task("name: t"), catalog, candidates=0)


def test_catalog_clouds_stix_does_not_serve_are_ignored_with_a_note() -> None:
    cat = Catalog([_offer("fluidstack", "gpu_1x_a100", 30, 200, acc="A100"),
                   _offer("aws", "m6i.2xlarge", 8, 32)])  # fmt: skip
    result = optimize(task("name: t"), cat)
    assert result.clouds == ["aws"]
    assert result.notes == ["the catalog lists fluidstack, which stix does not serve: ignored"]
    assert str(_refuse(cat, "resources: {accelerators: A100}")) == (
        "nothing fits: A100 is offered only in fluidstack, which stix does not serve")


def test_memory_default_is_four_gib_per_vcpu_and_explained() -> None:
    cat = Catalog([_offer("aws", "c6i.2xlarge", 8, 16, price=0.34),
                   _offer("aws", "m6i.2xlarge", 8, 32, price=0.384)])  # fmt: skip
    result = optimize(task("resources: {cpus: 8}"), cat)
    assert result.chosen.instance_type == "m6i.2xlarge"
    assert result.notes == [
        "left out by stix's sizing defaults: aws us-east-1 (c6i.2xlarge) from $0.34/h with 8 "
        "vCPUs and 16 GiB is cheaper, but fails memory>=4x vCPUs (default); set memory to "
        "choose it yourself"]
    assert optimize(task("resources: {cpus: 8, memory: 16+}"), cat).chosen.instance_type == (
        "c6i.2xlarge")


def test_burstable_types_only_when_named_or_allowed() -> None:
    cat = Catalog([_offer("aws", "t3.2xlarge", 8, 32, price=0.3328),
                   _offer("aws", "m6i.2xlarge", 8, 32, price=0.384)])  # fmt: skip
    result = optimize(task("resources: {cpus: 8}"), cat)
    assert result.chosen.instance_type == "m6i.2xlarge"
    assert "t3.2xlarge" in result.notes[0] and "allow_shared_core" in result.notes[0]
    assert optimize(task("resources: {cpus: 8}"), cat,
                    shared_core=True).chosen.instance_type == "t3.2xlarge"
    named = optimize(task("resources: {instance_type: t3.2xlarge}"), cat).chosen
    assert named.instance_type == "t3.2xlarge"
    only = Catalog([_offer("aws", "t3.2xlarge", 8, 32)])
    assert str(_refuse(only, "resources: {cpus: 8}")) == (
        "nothing fits: CPU machine (cpus=8) fits only machines stix's sizing defaults leave out "
        "(no burstable or shared-core types (default)), e.g. aws us-east-1 (t3.2xlarge) from "
        "$0.1/h; name the type, or set allow_shared_core: true in ~/.stix/config.yaml "
        "(stix optimize --allow-shared-core)")


def test_allow_shared_core_from_the_user_config(stix_home: Path) -> None:
    (stix_home / "config.yaml").write_text("allow_shared_core: true\n")
    cat = Catalog([_offer("aws", "t3.2xlarge", 8, 32, price=0.3328),
                   _offer("aws", "m6i.2xlarge", 8, 32, price=0.384)])  # fmt: skip
    assert optimize(task("resources: {cpus: 8}"), cat).chosen.instance_type == "t3.2xlarge"


def test_gcp_gpu_hosts_are_sized_as_skypilot_sizes_them() -> None:
    from stix.catalog import Offer

    def n1(itype: str, vcpus: float, mem: float, acc: str, price: float) -> Offer:
        return Offer("gcp", itype, vcpus, mem, acc, 1.0, 16.0, "us-central1", "us-central1-a",
                     price, price / 3)

    cat = Catalog([n1("n1-highcpu-4", 4, 3.6, "T4", 0.49), n1("n1-standard-4", 4, 15, "T4", 0.54),
                   n1("n1-highmem-4", 4, 26, "T4", 0.59), n1("n1-highmem-8", 8, 52, "V100", 2.95),
                   n1("n1-highcpu-8", 8, 7.2, "V100", 2.76)])  # fmt: skip
    assert optimize(task("resources: {accelerators: T4:1}"), cat).chosen.instance_type == (
        "n1-highmem-4")
    spot = optimize(task("resources: {accelerators: V100:1, use_spot: true}"), cat)
    assert spot.chosen.instance_type == "n1-highmem-8"
    assert "n1-highcpu-8" in spot.notes[0] and "host VM sized for V100:1" in spot.notes[0]
    # Asking for a size is the user's choice.
    assert optimize(task("resources: {accelerators: T4:1, cpus: 4}"), cat).chosen.instance_type == (
        "n1-highcpu-4")


def test_suspect_rows_decide_only_when_pinned() -> None:

    odd = _offer("azure", "Standard_D4s_v5", 8, 32, price=0.09)._replace(region="westus",
                  suspect="on-demand $0.09/h is far below its other regions (median $0.46/h)")
    fine = _offer("azure", "Standard_D4s_v5", 8, 32, price=0.46)._replace(region="eastus")
    cat = Catalog([odd, fine])
    assert optimize(task("resources: {cpus: 8}"), cat).chosen.region == "eastus"
    pinned = task("resources: {infra: azure/westus, instance_type: Standard_D4s_v5}")
    assert optimize(pinned, cat).chosen.region == "westus"
    assert "distrusts" in str(_refuse(Catalog([odd]), "resources: {cpus: 8}"))


def test_tpus_stix_does_not_make_are_refused_with_the_reason() -> None:
    cat = Catalog([_offer("gcp", "n2-standard-8", 8, 32)])
    text = str(_refuse(cat, "resources: {accelerators: tpu-v5e-8}"))
    assert "tpu-v5e-8 is written tpu-v5litepod-8" in text
    text = str(_refuse(cat, "resources: {accelerators: tpu-v4-64}"))
    assert "TPU pod slice (8 hosts" in text and "single-host TPU VMs only" in text


def test_refusals_are_stix_errors() -> None:
    assert issubclass(NothingFitsError, StixError)


def _offer(cloud: str, itype: str, vcpus: float, mem: float, *, acc: str | None = None,
           arch: str = "x86_64", price: float = 0.1) -> Any:
    from stix.catalog import Offer

    return Offer(cloud, itype, float(vcpus), float(mem), acc, 1.0 if acc else 0.0, None,
                 "us-east-1", None, price, None, arch)


def _refuse(cat: Catalog, yaml_text: str) -> NothingFitsError:
    with pytest.raises(NothingFitsError) as info:
        optimize(task(yaml_text), cat)
    return info.value


# ---- retired accelerators and machine types: who retired them, and what to ask instead --

@pytest.fixture(scope="module")
def retired_catalog() -> Catalog:
    return load_catalog(FIXTURES / "catalog_retired")


def test_v100_on_aws_is_refused_with_the_p3_retirement_and_what_aws_sells(
        retired_catalog: Catalog) -> None:
    text = refusal(retired_catalog, "resources: {cloud: aws, accelerators: V100:4}")
    assert text.startswith("nothing fits: V100:4 is not offered in aws: AWS retired its P3 "
                           "instances (V100 16 GB)")
    # Nearest first, at the asked count where the cloud has it; then where V100 still is.
    assert ("nearest offered: V100-32GB:8 from $31.21/h in aws us-east-1 us-east-1a "
            "(p3dn.24xlarge), T4:4 from $3.91/h in aws us-east-1 us-east-1a (g4dn.12xlarge); "
            "elsewhere it is in oci uk-london-1 (VM.GPU3.4) from $11.80/h") in text


def test_a_retired_instance_type_is_refused_with_its_retirement(
        retired_catalog: Catalog) -> None:
    text = refusal(retired_catalog, "resources: {cloud: aws, instance_type: p3.2xlarge}")
    assert text.startswith("nothing fits: instance type 'p3.2xlarge' is not offered: AWS "
                           "retired its P3 instances")
    assert "did you mean" not in text
    # p3dn is no P3 of the retired kind: an unknown spelling still gets the suggestion.
    assert "did you mean 'p3dn.24xlarge'" in refusal(
        retired_catalog, "resources: {instance_type: p3dn.24xlarg}")


def test_k80_is_refused_with_every_cloud_that_retired_it_and_the_nearest_gpu(
        retired_catalog: Catalog) -> None:
    text = refusal(retired_catalog, "resources: {accelerators: K80:1}")
    assert text == (
        "nothing fits: K80 is not offered: AWS retired its P2 instances (K80, announced "
        "2024), and NVIDIA's drivers after the 470 branch do not support the K80; Azure "
        "retired its NC-series (K80) on 6 Sep 2023; Google Cloud ended K80 GPUs on 1 May 2024; "
        "nearest offered: T4:1 from $0.526/h in aws us-east-1 us-east-1a (g4dn.xlarge)")


def test_the_retired_facts_match_names_and_types_only() -> None:
    from stix.clouds import registry

    aws = registry.cloud("aws")
    assert aws.retired_fact("v100") is aws.retired_fact("p3.16xlarge") is not None
    assert aws.retired_fact("p3dn.24xlarge") is None and aws.retired_fact("V100-32GB") is None
    assert aws.retired_fact("g3s.xlarge") is aws.retired_fact("M60") is not None
    azure = registry.cloud("azure")
    assert azure.retired_fact("Standard_NC24rs_v3") is azure.retired_fact("V100") is not None
    assert azure.retired_fact("Standard_NC4as_T4_v3") is None


def test_inferentia_means_either_generation_and_the_plan_says_which(
        retired_catalog: Catalog) -> None:
    asked = parse_tasks("resources:\n  accelerators: Inferentia:6\n", "t.yaml").tasks[0]
    six = optimize(asked, retired_catalog)
    assert six.chosen.instance_type == "inf2.24xlarge"
    assert ("t.yaml:2: resources.accelerators: Inferentia:6 is read as Inferentia or "
            "Inferentia2 (SkyPilot's catalogs once named Inferentia2 chips Inferentia too): "
            "chose Inferentia2:6") in six.notes
    one = optimize(task("resources: {accelerators: Inferentia:1}"), retired_catalog)
    assert one.chosen.instance_type == "inf1.xlarge"
    assert not any("is read as" in n for n in one.notes)
    # Named as today's catalogs name it, only that generation counts.
    with pytest.raises(NothingFitsError):
        optimize(task("resources: {accelerators: Inferentia2:4}"), retired_catalog)
