"""A node's SSH host keys from EC2's console output (GetConsoleOutput).

cloud-init prints the keys the instance made at first boot between `-----BEGIN SSH HOST
KEY KEYS-----` and `-----END ...-----` on the serial console; EC2 keeps that output and
hands it over the authenticated API, which no one on the network path to the node can
forge. The instance is the running one holding the node's address. boto3 is imported
only here (without it, stix trusts the key on first use and says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stix.errors import StixError

if TYPE_CHECKING:
    from stix.remote.transport import NodeAddress

_PERMISSIONS = "ec2:DescribeInstances and ec2:GetConsoleOutput"


def console_host_keys(region: str, node: NodeAddress) -> list[str]:
    """Keys in the console output of the instance at `node.host`; [] while not printed."""
    from stix.remote.hostkeys import NoConsoleReader, keys_from_console

    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise NoConsoleReader("stix reads AWS host keys from the console output with boto3, "
                              "which is not installed", hint="pip install boto3") from None

    ec2 = boto3.client("ec2", region_name=region)
    try:
        instance = _instance(ec2, node)
        if instance is None:
            return []
        text = _console_text(ec2, instance, ClientError)
    except (BotoCoreError, ClientError) as exc:
        raise StixError(f"({node.name}, {node.host}) cannot read the instance's console "
                        f"output to verify its host key: {exc}",
                        hint=f"stix needs {_PERMISSIONS} in {region}") from None
    return keys_from_console(text)


def _instance(ec2: Any, node: NodeAddress) -> str | None:
    live = {"Name": "instance-state-name", "Values": ["pending", "running"]}
    for field in ("ip-address", "private-ip-address"):
        reply = ec2.describe_instances(Filters=[live, {"Name": field, "Values": [node.host]}])
        ids = [i["InstanceId"] for r in reply.get("Reservations", [])
               for i in r.get("Instances", [])]
        if len(ids) == 1:
            return str(ids[0])
        if len(ids) > 1:
            raise StixError(f"({node.name}) {len(ids)} running instances hold {node.host}; "
                            "stix cannot tell which one is the node")
    return None


def _console_text(ec2: Any, instance: str, client_error: type[Exception]) -> str:
    try:
        reply = ec2.get_console_output(InstanceId=instance, Latest=True)
    except client_error:  # `Latest` is for Nitro instances; older ones keep a snapshot
        reply = ec2.get_console_output(InstanceId=instance)
    return str(reply.get("Output") or "")  # botocore decodes the base64 for us
