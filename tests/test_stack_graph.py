"""The resource graph model: normalisation, references, canonical JSON."""

from __future__ import annotations

import pytest

from stix.stack.graph import (
    REDACTED,
    SECRET_SIG_KEY,
    SECRET_SIG_VALUE,
    Graph,
    GraphError,
    Resource,
    marker,
    normalize,
    references,
)

VPC = "aws:ec2/vpc:Vpc::c-vpc"


def test_floats_secrets_and_nones() -> None:
    secret = {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": "hunter2"}
    got = normalize({"size": 100.0, "ratio": 0.25, "pw": secret, "gone": None, "ok": True,
                     "list": [1.0, secret]})
    assert got == {"list": [1, REDACTED], "ok": True, "pw": REDACTED, "ratio": 0.25,
                   "size": 100}
    assert "hunter2" not in repr(got)
    assert isinstance(got["size"], int)


def test_markers_become_references_also_inside_strings() -> None:
    whole = marker("r", VPC, "id")
    assert normalize(whole) == {"$ref": VPC, "attr": "id"}
    assert normalize(marker("d", "aws:ssm/getParameter:getParameter::ab", "value")) == {
        "$data": "aws:ssm/getParameter:getParameter::ab", "attr": "value"}
    text = f"arn:{marker('r', VPC, 'arn')}/*"
    assert normalize(text) == {"$concat": ["arn:", {"$ref": VPC, "attr": "arn"}, "/*"]}
    assert references(normalize({"a": [text], "b": whole})) == {VPC}


def test_canonical_json_round_trips_byte_identically() -> None:
    g = Graph(stack="c", program="aws", outputs={"head": {"$ref": VPC, "attr": "id"}})
    g.add(Resource("aws:ec2/vpc:Vpc", "c-vpc", {"cidrBlock": "10.0.0.0/16"}))
    g.add(Resource("aws:ec2/subnet:Subnet", "c-subnet", {"vpcId": {"$ref": VPC, "attr": "id"}},
                   dependencies=[VPC], provider="pulumi:providers:aws::c-aws"))
    text = g.to_json()
    assert text.endswith("\n")
    assert Graph.from_json(text).to_json() == text
    assert list(Graph.from_json(text).resources) == sorted(g.resources)


def test_duplicate_names_are_an_error() -> None:
    g = Graph(stack="c", program="aws")
    g.add(Resource("aws:ec2/vpc:Vpc", "x", {}))
    g.add(Resource("aws:ec2/subnet:Subnet", "x", {}))  # another type: fine
    with pytest.raises(GraphError, match="two resources named 'x'"):
        g.add(Resource("aws:ec2/vpc:Vpc", "x", {}))


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ('{"format": 99}', "not a stix resource graph"),
    ('{"format": 1, "stack": "c", "program": "aws", "resources": {"k": {"type": "t", '
     '"name": "n"}}}', "does not match"),
    ('{"format": 1, "stack": "c"}', "malformed"),
])
def test_bad_graph_files(text: str, message: str) -> None:
    with pytest.raises(GraphError, match=message):
        Graph.from_json(text, "g.json")
