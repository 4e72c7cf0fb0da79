"""RunPod's public GraphQL API as the dynamic provider uses it: one pod per node, deployed,
read, and terminated.

What this relies on (RunPod's GraphQL reference, graphql-spec.runpod.io, and the calls
SkyPilot's `sky/provision/runpod/` and runpod-python make):
- `POST https://api.runpod.io/graphql` {query, variables}, the API key as a bearer token;
  a bad key answers HTTP 401 ("Unauthorized"); a refused operation answers HTTP 200 with
  `{"errors": [{"message": ..., "extensions": {"code": ...}}]}`; a deploy without a free
  machine says "There are no longer any instances available with the requested
  specifications. Please refresh and try again." (code `SUPPLY_CONSTRAINT`), or answers
  the mutation with null and no error; one over the account's spending limit says
  "INSUFFICIENT_BALANCE: Renting this pod would put you over your current spending limit";
- `podFindAndDeployOnDemand(input: PodFindAndDeployOnDemandInput!)` for a GPU pod,
  `podRentInterruptable(input: PodRentInterruptableInput!)` for an interruptible (spot)
  one, the same input plus `bidPerGpu`, and `deployCpuPod(input: deployCpuPodInput!)`
  with the flavor's `instanceId` for a CPU pod; each answers the pod's `id`;
- `pod(input: {podId})` { id desiredStatus runtime { ports { ip isIpPublic privatePort
  publicPort type } } }: `runtime` is null until the container runs, and a public TCP
  mapping for port 22 is how SSH reaches it; a pod that no longer exists reads as null;
- `podTerminate(input: {podId})` deletes a pod and its disks.

The key comes from `$RUNPOD_API_KEY`, else `~/.runpod/config.toml` (`api_key = "..."`,
what `runpod config` writes), read where the call is made and never put in a stack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from stix.clouds.base import ErrorKind
from stix.clouds.dynamic import (
    CloudError,
    ErrorRule,
    ErrorTable,
    Operations,
    RestApi,
    token_from,
)
from stix.engine.errors import failover_mark

API = "https://api.runpod.io"
KEY_ENV = "RUNPOD_API_KEY"
KEY_FILE = "~/.runpod/config.toml"
SSH_PORT = 22
NO_CAPACITY = r"SUPPLY_CONSTRAINT|no longer any instances available"
OVER_LIMIT = r"INSUFFICIENT_BALANCE|over your current spending limit"
AUTH = r"[Uu]nauthori[sz]ed|[Ff]orbidden"
GONE = ("TERMINATED",)


def graphql_error(body: Any) -> tuple[str, str]:
    """(code, message) of a GraphQL answer. RunPod sets `extensions.code` on some errors
    only, so the code the table reads is that code and the first error's message together
    (its documented wording is what failover reads); the message is not repeated."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if not isinstance(first, dict):
            return str(first), ""
        extensions = first.get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        text = str(first.get("message") or "")
        prefix = f"{code} " if code and str(code) not in text else ""
        return f"{prefix}{text}".strip(), ""
    if isinstance(body, str):
        return body.strip()[:500], ""
    return "", ""


def _table(capacity: ErrorKind) -> ErrorTable:
    return ErrorTable((
        ErrorRule(capacity, NO_CAPACITY),
        ErrorRule("quota", OVER_LIMIT),
        ErrorRule("credentials", AUTH),
        ErrorRule("credentials", status=401),
        ErrorRule("credentials", status=403),
    ), parse=graphql_error)  # fmt: skip


ERRORS = _table("capacity")
SPOT_ERRORS = _table("spot")  # no machine for an interruptible pod at this bid


def api_key() -> str:
    return token_from(KEY_ENV, KEY_FILE)


class GraphQL:
    """One GraphQL endpoint: a query in, its `data` out; an `errors` answer (or an HTTP
    failure) raises `CloudError` with stix's failover kind."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        key = api_key()
        if not key:
            raise CloudError(f"runpod: no API key (set ${KEY_ENV} or run `runpod config`, "
                             f"which writes {KEY_FILE}) {failover_mark('credentials')}",
                             kind="credentials")
        self.api = RestApi("runpod", str(settings.get("base_url") or API), key, ERRORS)

    def run(self, what: str, query: str, variables: dict[str, Any] | None = None,
            errors: ErrorTable = ERRORS) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        answer = self.api.call("POST", "/graphql", body, what)
        if not isinstance(answer, dict):
            raise CloudError(f"runpod {what}: not a GraphQL answer")
        if answer.get("errors"):
            raise errors.error("runpod", what, None, answer)
        data = answer.get("data")
        return data if isinstance(data, dict) else {}


DEPLOY = {
    "gpu": ("podFindAndDeployOnDemand", "PodFindAndDeployOnDemandInput!"),
    "spot": ("podRentInterruptable", "PodRentInterruptableInput!"),
    "cpu": ("deployCpuPod", "deployCpuPodInput!"),
}
POD_FIELDS = "id desiredStatus runtime { ports { ip isIpPublic privatePort publicPort type } }"


def kind_of(inputs: Mapping[str, Any]) -> str:
    if inputs.get("cpu_instance_id"):
        return "cpu"
    return "spot" if inputs.get("bid_per_gpu") is not None else "gpu"


def deploy_input(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The mutation's input from the resource's inputs (RunPod's field names)."""
    env = [{"key": k, "value": v} for k, v in sorted((inputs.get("env") or {}).items())]
    body: dict[str, Any] = {
        "name": inputs["name"], "imageName": inputs["image"], "cloudType": inputs["cloud_type"],
        "containerDiskInGb": int(inputs["container_disk_gb"]), "ports": inputs["ports"],
        "env": env, "startSsh": True, "supportPublicIp": True,
    }  # fmt: skip
    if inputs.get("data_center_id"):
        body["dataCenterId"] = inputs["data_center_id"]
    if kind_of(inputs) == "cpu":
        body["instanceId"] = inputs["cpu_instance_id"]
        return body
    body.update({"gpuTypeId": inputs["gpu_type_id"], "gpuCount": int(inputs["gpu_count"]),
                 "volumeInGb": 0, "minVcpuCount": int(inputs["min_vcpus"]),
                 "minMemoryInGb": int(inputs["min_memory_gb"])})
    if inputs.get("bid_per_gpu") is not None:
        body["bidPerGpu"] = float(inputs["bid_per_gpu"])
    return body


def endpoints(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The computed outputs from a pod: its SSH address and every public TCP mapping
    (`"<private>": "<ip>:<public>"`); address and port are None until RunPod maps them."""
    runtime = pod.get("runtime") or {}
    mapped = {}
    for port in runtime.get("ports") or []:
        if (isinstance(port, dict) and port.get("type") == "tcp" and port.get("isIpPublic")
                and port.get("ip") and port.get("publicPort")):
            mapped[str(port["privatePort"])] = f"{port['ip']}:{port['publicPort']}"
    ssh = mapped.get(str(SSH_PORT))
    host, _, public = ssh.rpartition(":") if ssh else ("", "", "")
    return {"public_ip": host or None, "ssh_port": int(public) if public else None,
            "ports_map": mapped, "status": pod.get("desiredStatus")}


class Pod(Operations):
    """One node: deployed, then waited for until RunPod maps its SSH port to a public
    address (or terminated again, so a failed create leaves nothing behind)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.gql = GraphQL(settings)
        self.poll = float(settings.get("poll_seconds", 5.0))
        self.launch_timeout = float(settings.get("launch_timeout", 900.0))

    def check(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        if not inputs.get("cpu_instance_id") and not inputs.get("gpu_type_id"):
            return [("gpu_type_id", "a RunPod pod needs a GPU type or a CPU flavor")]
        return []

    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        kind = kind_of(inputs)
        field, input_type = DEPLOY[kind]
        query = f"mutation Deploy($input: {input_type}) {{ {field}(input: $input) {{ id }} }}"
        data = self.gql.run(f"deploy {kind} pod", query, {"input": deploy_input(inputs)},
                            SPOT_ERRORS if kind == "spot" else ERRORS)
        made = data.get(field) or {}
        pod_id = str(made.get("id") or "")
        if not pod_id:  # RunPod's other answer for "no machine free"
            failover: ErrorKind = "spot" if kind == "spot" else "capacity"
            raise CloudError(f"runpod deploy {kind} pod: RunPod deployed no pod (no machine "
                             f"with these specifications is free) {failover_mark(failover)}",
                             kind=failover)
        try:
            return pod_id, self._wait_ssh(pod_id)
        except BaseException:
            self._terminate(pod_id)  # nothing left behind when create fails
            raise

    def _pod(self, pod_id: str) -> dict[str, Any] | None:
        query = f"query Pod {{ pod(input: {{podId: {json.dumps(pod_id)}}}) {{ {POD_FIELDS} }} }}"
        found = self.gql.run("read pod", query).get("pod")
        return found if isinstance(found, dict) else None

    def _wait_ssh(self, pod_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.launch_timeout
        while True:
            pod = self._pod(pod_id)
            if pod is None or pod.get("desiredStatus") in GONE:
                raise CloudError(f"runpod pod {pod_id} was gone before it ran "
                                 f"{failover_mark('capacity')}", kind="capacity")
            outs = endpoints(pod)
            if outs["public_ip"] and outs["ssh_port"]:
                return outs
            if time.monotonic() >= deadline:
                raise CloudError(f"runpod pod {pod_id} had no public SSH port after "
                                 f"{self.launch_timeout:g} s (status {pod.get('desiredStatus')})")
            time.sleep(self.poll)

    def read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        pod = self._pod(id_)
        if pod is None or pod.get("desiredStatus") in GONE:
            return None
        return endpoints(pod)

    def _terminate(self, pod_id: str) -> None:
        query = f"mutation Terminate {{ podTerminate(input: {{podId: {json.dumps(pod_id)}}}) }}"
        self.gql.run("terminate pod", query)

    def delete(self, id_: str, state: Mapping[str, Any]) -> None:
        """Terminate the pod; one RunPod no longer has is not an error."""
        if self._pod(id_) is None:
            return
        self._terminate(id_)
