"""Task labels: Kubernetes label names and values load (no quoting or template syntax can
pass); labels the strictest clouds refuse (GCP's rule) rule those clouds out of the
placement; errors with field and line; stix's own tags (`stix-cluster`, `managed-by`,
`stix-node-rank`) never overridden."""

from __future__ import annotations

import pytest

from stix.clouds import common
from stix.errors import TaskError
from stix.task import parse_tasks
from stix.task.labels import check_key, check_value, portable_problem


@pytest.mark.parametrize("key", ["team", "cost-center", "a", "x_1", "a" * 63, "t2"])
def test_keys_every_cloud_takes(key: str) -> None:
    assert check_key(key) == key and portable_problem(key, "") is None


@pytest.mark.parametrize("key", ["Team", "1team", "a.b", "a/b", "kueue.x-k8s.io/queue-name",
                                 "example.com/Team_1", "a" * 200 + "/b"])
def test_keys_only_some_clouds_take(key: str) -> None:
    assert check_key(key) == key
    assert "this cloud takes" in (portable_problem(key, "") or "")


@pytest.mark.parametrize("key", [
    "", "-a", "a-", "a_", "a b", "a" * 64, "ünï", "/a", "a//b", "Example.com/a", "a/b/c",
    "a" * 254 + "/b", '${file("/etc/passwd")}', "%{if true}x%{endif}", "a\nb", "aws:x",
    "tag=1",
])
def test_keys_no_cloud_takes(key: str) -> None:
    with pytest.raises(ValueError, match="label key"):
        check_key(key)


@pytest.mark.parametrize("key", ["stix-cluster", "managed-by", "stix-node-rank", "stix-pool",
                                 "stix-anything"])
def test_reserved_keys(key: str) -> None:
    with pytest.raises(ValueError, match="reserved for stix"):
        check_key(key)


@pytest.mark.parametrize("value", ["", "ml", "42", "a-b_c", "x" * 63])
def test_values_every_cloud_takes(value: str) -> None:
    assert check_value(value) == value and portable_problem("k", value) is None


@pytest.mark.parametrize("value", ["ML", "v1.2", "user-Queue"])
def test_values_only_some_clouds_take(value: str) -> None:
    assert check_value(value) == value
    assert "this cloud takes" in (portable_problem("k", value) or "")


@pytest.mark.parametrize("value", ["a b", "-a", "a-", "x" * 64, "${x}", "a\n", "é", "a/b"])
def test_values_no_cloud_takes(value: str) -> None:
    with pytest.raises(ValueError, match="label value"):
        check_value(value)


TASK = """\
name: t
resources:
  cloud: aws
  labels:
    team: ml
    cost-center: 42
    '${file("/etc/passwd")}': x
    stix-cluster: other
    owner: "Jane Doe"
run: echo
"""


def test_task_errors_name_the_field_and_line() -> None:
    with pytest.raises(TaskError) as err:
        parse_tasks(TASK, "task.yaml")
    found = [(p.path, p.line) for p in err.value.problems]
    assert found == [('resources.labels.${file("/etc/passwd")}', 7),
                     ("resources.labels.stix-cluster", 8), ("resources.labels.owner", 9)]
    text = str(err.value)
    assert "task.yaml:7:" in text and "is not a label name" in text
    assert "task.yaml:8:" in text and "reserved for stix" in text


def test_labels_some_clouds_refuse_leave_those_clouds_out() -> None:
    from stix.optimizer import NothingFitsError, optimize

    kueue = "resources:\n  {where}cpus: 2\n  labels: {{kueue.x-k8s.io/queue-name: q}}\nrun: x\n"
    chosen = optimize(parse_tasks(kueue.format(where="")).tasks[0], cluster="c").chosen
    assert chosen.cloud == "aws"  # EC2 tags take it; GCP labels, Azure tags do not
    assert optimize(parse_tasks(kueue.format(where="infra: k8s\n  ")).tasks[0],
                    cluster="c").chosen.labels == {"kueue.x-k8s.io/queue-name": "q"}
    with pytest.raises(NothingFitsError, match=r"gcp cannot carry the task's labels \(label "
                                               r"key 'kueue.x-k8s.io/queue-name': this cloud"):
        optimize(parse_tasks(kueue.format(where="infra: gcp\n  ")).tasks[0], cluster="c")


def test_numbers_become_text() -> None:
    task = parse_tasks("resources:\n  labels: {cost-center: 42, spot: true}\nrun: x\n").tasks[0]
    assert task.resources.labels == {"cost-center": "42", "spot": "true"}


def test_reserved_tags_win_over_a_hand_edited_stack() -> None:
    from stack_support import placement

    p = placement("aws", "m6i.large", region="us-east-1",
                  labels={"stix-cluster": "other", "managed-by": "me", "team": "ml"})
    assert common.labels(p) == {"managed-by": "stix", "stix-cluster": "t", "team": "ml"}


def test_kubernetes_selectors_still_find_the_pods() -> None:
    pytest.importorskip("pulumi_kubernetes", reason="needs the pulumi extra")
    from stack_support import placement, synth

    p = placement("kubernetes", "4CPU--16GB", region="lab", vcpus=4, memory_gib=16,
                  ports=[8000], labels={"stix-cluster": "x", "stix-node-rank": "9"})
    g = synth(p)
    pods = g.of_type("kubernetes:core/v1:Pod")
    for service in g.of_type("kubernetes:core/v1:Service"):
        selector = service.inputs["spec"]["selector"]
        chosen = [pod for pod in pods if selector.items() <= pod.inputs["metadata"]
                  ["labels"].items()]
        assert chosen, f"{service.name} selects no pod"
    assert pods[0].inputs["metadata"]["labels"]["stix-cluster"] == "t"
    assert pods[0].inputs["metadata"]["labels"]["stix-node-rank"] == "0"
