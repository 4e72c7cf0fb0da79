"""The contract every registered provider keeps. A cloud added without one of its pieces
fails here, not in front of a user: run for every name in the registry, with placements
chosen the way `stix plan` chooses them (the optimizer over the shipped catalog)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from stix.clouds import registry
from stix.clouds.base import Cloud, Machines
from stix.clouds.types import PROVIDER_PREFIX, cloud_of, lookup, resource_type

pytest.importorskip("pulumi", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

CLOUDS = [c.name for c in registry.all_clouds()]
MACHINES = [n for n in registry.names() if isinstance(registry.get(n), Machines)]
CLOUD_DIR = Path(registry.__file__).parent
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKpQe+Z6wqWB6flee48ydS/3MH3V+NWymNdyQlhpEQEY "
       "contract")


def test_every_provider_is_a_cloud_or_machines() -> None:
    assert CLOUDS and MACHINES
    assert set(CLOUDS) | set(MACHINES) == set(registry.names())
    for name in registry.names():
        assert registry.get(name).name == name
        assert registry.canonical(name) == name


def test_loading_a_provider_imports_no_sdk() -> None:
    probe = ("import sys; from stix.clouds import registry\n"
             "[registry.get(n) for n in registry.names()]\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('pulumi', 'pulumi_aws', 'pulumi_gcp', 'pulumi_azure_native', 'pulumi_kubernetes',"
             " 'boto3', 'google', 'azure', 'kubernetes', 'asyncssh')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# ---- placements the way `stix plan` makes them ------------------------------------------------


def _gpu(cloud: Cloud) -> str:
    """The accelerator of the cloud's cheapest GPU offer (any name for pod clouds)."""
    from stix.catalog import load_catalog

    if not cloud.capabilities.uses_catalog:
        return "T4:1"
    offers = [o for o in load_catalog(clouds=[cloud.name]).for_cloud(cloud.name) if o.accelerator]
    best = min(offers, key=lambda o: (o.price, o.instance_type, o.region))
    return f"{best.accelerator}:{best.accelerator_count:g}"


def _spot(cloud: Cloud) -> str:
    """What a spot task asks for: any CPU machine, or the cheapest spot GPU offer where the
    cloud sells spot only with GPUs."""
    from stix.catalog import load_catalog

    if not cloud.capabilities.uses_catalog:
        return "cpus: 2+"
    offers = [o for o in load_catalog(clouds=[cloud.name]).for_cloud(cloud.name)
              if o.spot_price is not None]
    if not offers or any(o.accelerator is None for o in offers):
        return "cpus: 2+"
    best = min(offers, key=lambda o: (o.spot_price or 0.0, o.instance_type, o.region))
    return f"accelerators: {best.accelerator}:{best.accelerator_count:g}"


def _cpu(cloud: Cloud) -> str:
    """What a CPU task asks for: 2+ CPUs, or the cheapest GPU offer where the cloud sells
    no machine without GPUs (a GPU marketplace)."""
    from stix.catalog import load_catalog

    if cloud.capabilities.uses_catalog and all(
            o.accelerator for o in load_catalog(clouds=[cloud.name]).for_cloud(cloud.name)):
        return f"accelerators: {_gpu(cloud)}"
    return "cpus: 2+"


def _tasks(cloud: Cloud) -> dict[str, str]:
    base = f"resources:\n  infra: {cloud.name}\n"
    out = {
        "cpu": base + f"  {_cpu(cloud)}\n",
        "gpu": base + f"  accelerators: {_gpu(cloud)}\n",
        "ports": base + f"  {_cpu(cloud)}\n  ports: [8080, 9000-9002]\n",
    }
    if cloud.capabilities.multi_node:
        out["multi-node"] = "num_nodes: 2\n" + base + "  cpus: 2+\n"
    if cloud.capabilities.spot:
        out["spot"] = base + f"  {_spot(cloud)}\n  use_spot: true\n"
    if cloud.store is not None:
        out["bucket"] = (base + "  cpus: 2+\nfile_mounts:\n  /data:\n    name: contract-bucket\n"
                         f"    store: {cloud.store.name}\n")
    return out


def _placement(cloud: Cloud, text: str) -> Any:
    from stix.optimizer import optimize
    from stix.task import parse_tasks

    task = parse_tasks(text + "run: echo ok\n").tasks[0]
    return optimize(task, cluster="contract").chosen


def _synth(placement: Any) -> Any:
    from stix.program.run import default_user_data
    from stix.stack.synth import synthesize

    return synthesize(placement, default_user_data(placement, KEY), KEY)


CASES = [(c, kind) for c in CLOUDS for kind in _tasks(registry.cloud(c))]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_program_synthesizes_offline_and_its_types_are_tabled(name: str, kind: str) -> None:
    cloud = registry.cloud(name)
    placement = _placement(cloud, _tasks(cloud)[kind])
    assert placement.cloud == name
    graph = _synth(placement)
    assert graph.program == cloud.program_name(placement)
    assert graph.outputs["nodes"] and len(graph.outputs["nodes"]) == placement.num_nodes
    _check_types(graph)


def _check_types(graph: Any) -> None:
    for res in graph.resources.values():
        owner = cloud_of(res.type)
        assert owner is not None, f"{res.type}: no registered cloud owns its Pulumi package"
        if res.type.startswith(PROVIDER_PREFIX):
            if owner.capabilities.terraform:
                assert owner.terraform_provider is not None, owner.name
            continue
        rt = resource_type(res.type)
        assert rt is not None, f"{res.type} is missing from {owner.name}'s type table"
        assert rt in tuple(owner.resource_types()), f"{res.type} not in {owner.name}'s table"
        if owner.capabilities.terraform:
            assert rt.terraform is not None, f"{res.type}: {owner.name} translates to " \
                "Terraform, but the type has no Terraform type"
    for ds in graph.data.values():
        found = lookup(ds.type)
        owner = cloud_of(ds.type)
        assert found is not None and owner is not None, f"lookup {ds.type} is not tabled"
        if owner.capabilities.terraform:
            assert found.terraform, f"lookup {ds.type} has no Terraform data source"


@pytest.mark.parametrize("name", [c for c in CLOUDS if not registry.cloud(c).capabilities.multi_node])
def test_a_single_node_cloud_refuses_multi_node_tasks_saying_why(name: str) -> None:
    from stix.optimizer.explain import NothingFitsError

    cloud = registry.cloud(name)
    with pytest.raises(NothingFitsError, match="one node per cluster"):
        _placement(cloud, "num_nodes: 2\n" + _tasks(cloud)["cpu"])


@pytest.mark.parametrize("name", CLOUDS)
def test_ssh_cidrs_decide_who_reaches_the_nodes(name: str) -> None:
    """Every cloud takes `ssh_cidrs` (the user config's ssh_cidr lands there) and flags
    what it leaves open to everyone: an unread setting would be a silent hole."""
    from stix.stack.exposure import findings

    cloud = registry.cloud(name)
    assert "ssh_cidrs" in cloud.options_model.model_fields, f"{name} cannot limit its ports"
    placement = _placement(cloud, _tasks(cloud)["ports"])
    assert any(f.kind == "open" for f in findings(_synth(placement))), \
        f"{name}: ports open to everyone are not flagged"
    limited = placement.with_options({**placement.extra.set_fields(),
                                      "ssh_cidrs": ["192.0.2.0/24"]})
    graph = _synth(limited)
    assert "192.0.2.0/24" in graph.to_json()
    still_open = [f for f in findings(graph) if f.kind == "open"]
    if cloud.capabilities.port_firewall:
        assert not still_open
    else:  # only SSH can be limited: the task's ports are said to be open, SSH is not
        assert still_open and not [f for f in still_open if "tcp 22 " in f.text]


@pytest.mark.parametrize("service", sorted(
    c.capabilities.managed_kubernetes for c in registry.all_clouds()
    if c.capabilities.managed_kubernetes))
def test_managed_kubernetes_pools_synthesize(service: str) -> None:
    """A cloud claiming a managed Kubernetes service declares pools for it."""
    from stix.placement import Placement

    owner = next(c for c in registry.all_clouds() if c.capabilities.managed_kubernetes == service)
    catalog_offer = _cheapest_cpu(owner.name)
    k8s = next(c for c in registry.all_clouds()
               if "managed" in c.options_model.model_fields)
    placement = Placement(
        cluster="contract", cloud=k8s.name, region=catalog_offer.region,
        zone=catalog_offer.zone, instance_type=catalog_offer.instance_type,
        vcpus=catalog_offer.vcpus, memory_gib=catalog_offer.memory_gib, hourly_price=0.0,
        extra={"managed": service, "cluster_name": "existing", "context": "ctx",
               "subnet_ids": ["subnet-1"], "resource_group": "rg"})
    graph = _synth(placement)
    assert any(cloud_of(r.type) is owner for r in graph.resources.values())
    _check_types(graph)


def _cheapest_cpu(cloud: str) -> Any:
    from stix.catalog import load_catalog

    offers = [o for o in load_catalog(clouds=[cloud]).for_cloud(cloud) if not o.accelerator]
    return min(offers, key=lambda o: (o.price, o.instance_type, o.region, o.zone or ""))


@pytest.mark.parametrize("name", CLOUDS)
def test_stack_config_keys_belong_to_the_clouds_packages(name: str) -> None:
    cloud = registry.cloud(name)
    placement = _placement(cloud, _tasks(cloud)["cpu"])
    for key in cloud.stack_config_keys(placement):
        assert key.split(":", 1)[0] in cloud.pulumi_packages


# ---- credentials, options, catalog, node side ---------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty home and environment, and every socket connection refused."""
    import os

    for key in list(os.environ):
        if key.startswith(("AWS_", "GOOGLE_", "CLOUDSDK_", "AZURE_", "KUBE", "IDENTITY_", "MSI_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("STIX_SSH_NODE_POOLS", str(tmp_path / "none.yaml"))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a credential check without --verify used the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", registry.names())
def test_credentials_check_without_network(name: str, no_network: None) -> None:
    status = registry.get(name).check_credentials(verify=False)
    assert status.cloud == name and status.detail
    if not status.ok:
        assert status.hint, f"{name}: a failed check must say how to fix it"


@pytest.mark.parametrize("name", CLOUDS)
def test_credential_stores_are_declared_for_sync_to_keep(name: str) -> None:
    """Every cloud names where its credentials live on this machine, so file sync never
    sends them (`stix.remote.private`)."""
    paths = registry.cloud(name).credential_paths
    assert all(p.startswith(("~/", "$")) and " " not in p for p in paths), paths
    assert paths, f"{name}: declare credential_paths (where its credentials live)"


@pytest.mark.parametrize("name", registry.names())
def test_infra_options_reject_unknown_keys_by_name(name: str) -> None:
    from stix.placement import Placement

    model = registry.get(name).options_model
    assert model.model_validate({}).set_fields() == {}
    with pytest.raises(ValidationError, match="no_such_option"):
        model.model_validate({"no_such_option": 1})
    with pytest.raises(ValidationError, match=r"extra\.no_such_option"):
        Placement(cluster="c", cloud=name, region="r", instance_type="t", vcpus=1,
                  memory_gib=1, hourly_price=0, extra={"no_such_option": 1})


@pytest.mark.parametrize("name", [c for c in CLOUDS if registry.cloud(c).capabilities.uses_catalog])
def test_catalog_rows_parse_and_have_images(name: str) -> None:
    from stix.catalog import load_catalog
    from stix.clouds.images import catalog_image

    catalog = load_catalog(clouds=[name])
    assert catalog.for_cloud(name), f"no catalog rows for {name}"
    assert not catalog.bad_rows, catalog.bad_rows[:3]
    cloud = registry.cloud(name)
    for region in catalog.regions(name):
        assert catalog_image(name, region, "ubuntu-22.04-x86_64"), f"{name} {region}: no image"
    for offer in catalog.for_cloud(name)[:200]:
        assert cloud.infer_arch(offer.instance_type) in ("x86_64", "arm64")


@pytest.mark.parametrize("name", CLOUDS)
def test_autostop_action_for_each_mode_claimed(name: str, tmp_path: Path) -> None:
    from stix.remote.safe_templates import render_template

    cloud = registry.cloud(name)
    if not cloud.capabilities.autostop:
        assert cloud.autostop_template is None
        return
    assert cloud.autostop_template is not None
    assert (CLOUD_DIR / cloud.autostop_template).is_file()
    script = render_template("autostop-action.sh.j2", action_template=cloud.autostop_template)
    path = tmp_path / "action.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert script.startswith("#!/bin/bash\n")
    for mode in cloud.capabilities.autostop:
        assert mode in ("stop", "down")
    if "down" in cloud.capabilities.autostop and "stop" in cloud.capabilities.autostop:
        assert "down" in script  # the script tells the two apart, or documents why not


@pytest.mark.parametrize("name", [c for c in CLOUDS if registry.cloud(c).store is not None])
def test_a_kept_buckets_stack_synthesizes_and_is_tabled(name: str) -> None:
    from stix.buckets import BucketSpec
    from stix.placement import Bucket
    from stix.stack.synth import synthesize_bucket

    cloud = registry.cloud(name)
    assert cloud.store is not None
    region = _cheapest_cpu(name).region
    bucket = Bucket(store=cloud.store.name, name="contract-kept", mount_path="/k")
    account = cloud.store.account("c", bucket) if cloud.store.account_pattern else None
    graph = synthesize_bucket(BucketSpec(name="contract-kept", store=cloud.store.name,
                                         cloud=name, region=region, account=account))
    assert graph.program == "bucket" and graph.outputs["bucket"]
    _check_types(graph)


@pytest.mark.parametrize("name", [c for c in CLOUDS if registry.cloud(c).store is not None])
def test_store_is_complete(name: str) -> None:
    cloud = registry.cloud(name)
    store = cloud.store
    assert store is not None
    assert registry.stores()[store.name][0] == name
    assert registry.store_of(name) == store.name
    assert set(store.tools) == {"MOUNT", "COPY"}
    for part in ("bucket-install", "bucket-copy", "bucket-mount"):
        assert (CLOUD_DIR / store.template_dir / f"{part}.sh.j2").is_file()
    assert store.url("b", "p", "acct")


@pytest.mark.parametrize("name", CLOUDS)
def test_failover_patterns_compile_and_name_known_kinds(name: str) -> None:
    import re

    for kind, pattern in registry.cloud(name).error_patterns:
        assert kind in ("capacity", "spot", "quota", "credentials")
        re.compile(pattern)


@pytest.mark.parametrize("name", CLOUDS)
def test_user_data_fits_the_cloud(name: str) -> None:
    from stix.remote.cloudinit import user_data_payload

    cloud = registry.cloud(name)
    placement = _placement(cloud, _tasks(cloud)["cpu"])
    from stix.program.run import default_user_data

    text = default_user_data(placement, KEY)(0)
    payload = user_data_payload(text, name)
    if cloud.user_data_limit is not None:
        assert len(payload) <= cloud.user_data_limit


@pytest.mark.parametrize("name", MACHINES)
def test_machines_are_not_stacks(name: str) -> None:
    provider = registry.get(name)
    assert not provider.capabilities.provisions and not provider.capabilities.uses_catalog
    with pytest.raises(Exception, match="no stack"):
        registry.cloud(name)


# ---- prices: a published type list beside every fetcher, provenance on every row -------------


@pytest.mark.parametrize("name", CLOUDS)
def test_a_priced_cloud_publishes_its_types_and_sources_its_rows(name: str) -> None:
    from stix.catalog import load_catalog

    cloud = registry.cloud(name)
    if not cloud.capabilities.uses_catalog:
        return
    types = cloud.machine_types()
    assert cloud.type_list_source and types, f"{name}: no published type list"
    assert all(t.name == n and t.vcpus > 0 and t.memory_gib > 0 for n, t in types.items())
    assert cloud.price_source, f"{name}: no price source for `stix catalog update`"
    rows = load_catalog(clouds=[name]).for_cloud(name)
    assert rows and all(o.price_source in ("observed", "estimated") and o.as_of for o in rows)
    assert all(o.spot_origin in ("observed", "estimated", "none") for o in rows)
    sample = next(iter(types.values()))
    assert cloud.check_offer(sample.name, sample.vcpus, sample.memory_gib, sample.accelerator,
                             sample.count) == ""
    assert cloud.check_offer(sample.name, sample.vcpus + 1, sample.memory_gib,
                             sample.accelerator, sample.count) != ""
    assert isinstance(cloud.is_shared_core(sample.name), bool)
