"""A pipeline placed as one chain: clusters reused for tasks that ask for the same machines,
and the placements chosen for the least compute + data transfer (SkyPilot's DAG optimizer
on a chain), priced from an egress table, over the hand-checked fixture catalog."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stix.catalog import Catalog, load_catalog
from stix.catalog.egress import egress_price
from stix.errors import StixError, TaskError
from stix.optimizer import optimize
from stix.optimizer.pipeline import cluster_names, place_pipeline, stages
from stix.optimizer.transfer import Location, rate
from stix.task import Task, parse_tasks

FIXTURES = Path(__file__).parent / "fixtures"
EGRESS = {"aws": "internet,0.09\ninter_region,0.02\n", "gcp": "internet,0.12\n"}


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    """catalog_small with egress rates of our own (azure's: the shipped table's)."""
    root = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog_small", root)
    for cloud, rows in EGRESS.items():
        lines = "".join(f"{r},estimated,2026-12,test table\n" for r in rows.splitlines())
        (root / cloud / "egress.csv").write_text(
            "kind,usd_per_gb,price_source,as_of,source\n" + lines)
    monkeypatch.setenv("STIX_CATALOG_DIR", str(root))
    return load_catalog(root)


def tasks(text: str) -> list[Task]:
    return parse_tasks(text).tasks


CPU = "cpus: 4, memory: 16"


def test_rates_are_priced_where_the_data_leaves(catalog: Catalog) -> None:
    east, west = Location("aws", "us-east-1"), Location("aws", "eu-west-1")
    assert rate(east, east) == (0.0, "same region: free")
    assert rate(east, west) == (0.02, "aws inter-region egress $0.02/GB, estimated 2026-12")
    assert rate(east, Location("gcp", "us-central1"))[0] == 0.09
    assert rate(Location("gcp", "us-central1"), east)[0] == 0.12
    assert rate(Location("aws"), east) == (0.0, "within aws: free")  # a bucket's region
    per_gb, basis = rate(Location("local", "local"), east)
    assert per_gb == 0.0 and "no internet egress price for local: not priced" in basis
    shipped = egress_price("azure", "internet")  # this catalog has none: the snapshot's
    assert shipped is not None and rate(Location("azure", "eastus"), east)[0] == (
        shipped.usd_per_gb)
    assert "not a bucket URI" in rate(Location(None), east)[1]


def test_outputs_pull_the_next_task_into_the_same_region(catalog: Catalog) -> None:
    chain = tasks(f"name: p\n---\nname: prep\nresources: {{infra: aws/eu-west-1, {CPU}}}\n"
                  "outputs: {s3://b/shards: 100}\nrun: x\n---\n"
                  f"name: train\nresources: {{infra: aws, {CPU}}}\nrun: y\n")
    alone = optimize(chain[1], catalog).chosen
    assert alone.region == "us-east-1"  # cheapest on its own
    placed = place_pipeline(chain, catalog=catalog)
    train = placed.stage_of(1).chosen
    assert (train.cloud, train.region) == ("aws", "eu-west-1")
    assert placed.transfer_usd == 0.0
    [moved] = placed.transfers
    assert (moved.what, moved.gigabytes, moved.basis) == ("task prep", 100, "same region: free")
    # 100 GB across regions ($2) costs more than the dearer machine here saves
    assert placed.compute_usd < (placed.stage_of(0).chosen.total_hourly_price
                                 + alone.total_hourly_price + 100 * 0.02)

    little = tasks(f"name: prep\nresources: {{infra: aws/eu-west-1, {CPU}}}\n"
                   "outputs: {s3://b/shards: 0.5}\nrun: x\n---\n"
                   f"name: train\nresources: {{infra: aws, {CPU}}}\nrun: y\n")
    placed = place_pipeline(little, catalog=catalog)
    assert placed.stage_of(1).chosen.region == alone.region  # $0.01 is worth moving
    assert placed.transfer_usd == pytest.approx(0.5 * 0.02)
    assert placed.to_dict()["transfers"][0]["basis"].startswith("aws inter-region egress")


def test_outputs_pull_the_next_task_onto_the_same_cloud(catalog: Catalog) -> None:
    chain = tasks(f"name: prep\nresources: {{infra: aws, {CPU}}}\n"
                  "outputs: {s3://b/shards: 100}\nrun: x\n---\n"
                  f"name: train\nresources: {{{CPU}}}\nrun: y\n")
    assert optimize(chain[1], catalog).chosen.cloud == "gcp"
    placed = place_pipeline(chain, catalog=catalog)
    prep, train = placed.stage_of(0).chosen, placed.stage_of(1).chosen
    assert (train.cloud, train.region) == (prep.cloud, prep.region)
    assert placed.stage_of(1).result.candidates[0] == train  # failover starts there
    assert placed.transfer_usd == 0.0


def test_inputs_and_last_outputs_are_priced_against_their_buckets(catalog: Catalog) -> None:
    [reads] = tasks(f"resources: {{{CPU}}}\ninputs: {{s3://data/raw: 100}}\nrun: x\n")
    placed = place_pipeline([reads], catalog=catalog)
    assert placed.stage_of(0).chosen.cloud == "aws" and placed.transfer_usd == 0.0
    [azure] = tasks(f"resources: {{{CPU}}}\n"
                    "inputs: {https://acct.blob.core.windows.net/c/raw: 100}\nrun: x\n")
    assert place_pipeline([azure], catalog=catalog).stage_of(0).chosen.cloud == "azure"
    [web] = tasks(f"resources: {{{CPU}}}\ninputs: {{https://example.com/raw: 100}}\nrun: x\n")
    placed = place_pipeline([web], catalog=catalog)
    assert placed.stage_of(0).chosen.cloud == "gcp"  # not priced: the cheapest machine wins
    assert "not priced" in placed.transfers[0].basis
    [writes] = tasks(f"resources: {{infra: aws, {CPU}}}\noutputs: {{gs://out/model: 10}}\n"
                     "run: x\n")
    placed = place_pipeline([writes], catalog=catalog)
    [out] = placed.transfers
    assert out.outbound and out.usd == pytest.approx(0.9)
    assert out.render().startswith("task ") and "gs://out/model" in out.render()


def test_target_time_prices_the_transfers_it_does_not_minimise(catalog: Catalog) -> None:
    chain = tasks(f"name: prep\nresources: {{infra: aws, {CPU}}}\n"
                  "outputs: {s3://b/x: 100}\nrun: x\n---\n"
                  "name: train\nresources: {accelerators: A100:1}\nrun: y\n")
    placed = place_pipeline(chain, catalog=catalog, target="time")
    assert placed.stage_of(1).chosen.cloud == "gcp"
    assert placed.transfer_usd == pytest.approx(100 * 0.09)


def test_tasks_asking_for_the_same_machines_share_a_cluster(catalog: Catalog) -> None:
    chain = tasks("name: p\n---\nname: a\nresources: {cpus: 4}\nrun: x\n---\n"
                  "name: b\nresources: {cpus: 4}\nrun: y\n---\n"
                  "name: c\nresources: {cpus: 2}\nrun: z\n---\n"
                  "name: d\nresources: {cpus: 2}\nfile_mounts: {/d: s3://b/d}\nrun: w\n")
    assert stages(chain) == [[0, 1], [2], [3]]
    assert cluster_names(chain) == ["a", "a", "c", "d"]
    placed = place_pipeline(chain, catalog=catalog)
    assert [s.cluster for s in placed.stages] == ["a", "c", "d"]
    assert placed.stage_of(1).chosen == placed.stage_of(0).chosen
    assert placed.to_dict()["clusters"][0] == {"cluster": "a", "tasks": ["a", "b"]}
    # one cluster, two tasks: each counted as an hour on it
    assert placed.compute_usd == pytest.approx(sum(
        s.chosen.total_hourly_price * len(s.tasks) for s in placed.stages))


def test_nothing_fits_names_the_task(catalog: Catalog) -> None:
    from stix.optimizer.pipeline import TaskNothingFits

    chain = tasks("name: a\nrun: x\n---\nname: b\nresources: {accelerators: H100:64}\nrun: y\n")
    with pytest.raises(TaskNothingFits, match=r"^task b: nothing fits") as err:
        place_pipeline(chain, catalog=catalog)
    assert err.value.task == "b" and err.value.exit_code == 2


@pytest.mark.parametrize(("field", "fragment"), [
    ("inputs: {s3://b/x: -1}", "cannot be negative"),
    ("outputs: {ftp://b/x: 1}", "unsupported storage URI scheme"),
    ("inputs: {s3://b/x: lots}", "inputs"),
])
def test_bad_data_sizes_are_errors_with_their_line(field: str, fragment: str) -> None:
    with pytest.raises(TaskError, match=fragment) as err:
        parse_tasks(f"name: t\n{field}\nrun: x\n")
    assert ":2:" in str(err.value)


def test_the_shipped_egress_table_has_a_source_and_date_per_rate(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from stix.clouds import registry

    catalog_clouds = {p.name for p in (FIXTURES.parent.parent / "catalog_data").iterdir()
                      if (p / "vms.csv").is_file()}
    for cloud in sorted(catalog_clouds):
        assert registry.served(cloud)
        if not (FIXTURES.parent.parent / "catalog_data" / cloud / "egress.csv").is_file():
            # No published rate found (Nebius): transfers out of it are said "not priced".
            assert egress_price(cloud, "internet") is None
            continue
        for kind in ("internet", "inter_region"):
            price = egress_price(cloud, kind)
            # 0 where the cloud bills no transfer (Lambda), as its source row says.
            assert price is not None and 0 <= price.usd_per_gb < 1, (cloud, kind)
            free = ("no charge", "no fees", "free")
            assert price.usd_per_gb > 0 or any(w in price.source for w in free), (cloud, kind)
            assert price.source and price.as_of and price.price_source == "estimated"
    broken = tmp_path / "broken"
    (broken / "gcp").mkdir(parents=True)
    (broken / "gcp" / "egress.csv").write_text("kind,usd_per_gb,price_source,as_of,source\n"
                                               "internet,free,estimated,2026-12,x\n")
    monkeypatch.setenv("STIX_CATALOG_DIR", str(broken))
    with pytest.raises(StixError, match=r"egress.csv:2: usd_per_gb 'free' is not a number"):
        egress_price("gcp", "internet")
