"""Lambda's Cloud API v1 as the dynamic provider uses it: an SSH key, a firewall ruleset
and an instance, each created, read, updated where the API allows and deleted.

What this relies on, from Lambda's published API reference (OpenAPI v1.10):
- base URL `https://cloud.lambda.ai/api/v1` (the older cloud.lambdalabs.com redirects);
  the API key as a bearer token; answers wrapped in `{"data": ...}`;
- errors as `{"error": {"code", "message", "suggestion"}}`: a launch without capacity is
  `instance-operations/launch/insufficient-capacity` (HTTP 400), a bad key
  `global/invalid-api-key` (401), an exhausted quota `global/quota-exceeded`, an unknown
  id `global/object-does-not-exist` (404); rate limits answer 429;
- `POST /instance-operations/launch` {region_name, instance_type_name, ssh_key_names
  (exactly one), name (≤ 64 characters), user_data (cloud-init, ≤ 1 MB), image {family} or
  {id}, firewall_rulesets [{id}], tags [{key, value}]} → {instance_ids}; an instance's
  status is booting, active, unhealthy, terminating, terminated or preempted;
  `POST /instances/{id}` {name} renames it; `POST /instance-operations/terminate`
  {instance_ids};
- `POST /ssh-keys` {name, public_key}, `GET /ssh-keys`, `DELETE /ssh-keys/{id}`;
- firewall rulesets, one region each: `POST /firewall-rulesets` {name, region, rules:
  [{protocol, port_range [low, high], source_network, description}]}, `GET`/`PATCH`/
  `DELETE /firewall-rulesets/{id}`. The account's global ruleset and its legacy
  `/firewall-rules` apply to every instance of the account: stix never writes them.

The key comes from `$LAMBDA_API_KEY`, else SkyPilot's `~/.lambda_cloud/lambda_keys`
(`api_key = ...`), read where the call is made and never put in a stack or state.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stix.clouds.dynamic import (
    CloudError,
    ErrorRule,
    ErrorTable,
    Operations,
    RestApi,
    token_from,
)
from stix.engine.errors import failover_mark

if TYPE_CHECKING:
    from stix.clouds.base import NodePower

API = "https://cloud.lambda.ai/api/v1"
KEY_ENV = "LAMBDA_API_KEY"
KEY_FILE = "~/.lambda_cloud/lambda_keys"
USER_DATA_LIMIT = 1024 * 1024
NAME_LIMIT = 64
GONE = ("terminated", "preempted")  # what GET /instances/{id} may say of a dead instance
FAILED = ("unhealthy", *GONE)
# Lambda allows about one request a second and one launch per 12 s: the nodes of a
# cluster launch at once, so a 429 is waited out for up to ~90 s.
RATE_LIMIT_WAITS = (1.0, 3.0, 6.0, 12.0, 12.0, 24.0, 30.0)

ERRORS = ErrorTable((
    ErrorRule("capacity", r"instance-operations/launch/insufficient-capacity"),
    ErrorRule("quota", r"global/quota-exceeded"),
    ErrorRule("credentials", r"global/invalid-api-key|global/account-inactive"),
    ErrorRule("credentials", status=401),
))  # fmt: skip


def api_key() -> str:
    return token_from(KEY_ENV, KEY_FILE)


def client(settings: Mapping[str, Any]) -> RestApi:
    """The API with the key found here; without one, a credentials error (no call made)."""
    key = api_key()
    if not key:
        raise CloudError(f"lambda: no API key (set ${KEY_ENV} or write api_key = ... in "
                         f"{KEY_FILE}) {failover_mark('credentials')}", kind="credentials")
    return RestApi("lambda", str(settings.get("base_url") or API), key, ERRORS,
                   backoff=RATE_LIMIT_WAITS)


def _data(answer: Any) -> Any:
    return answer.get("data") if isinstance(answer, dict) else None


def _missing(exc: CloudError) -> bool:
    return exc.status == 404 or exc.code == "global/object-does-not-exist"


class SshKey(Operations):
    """An SSH key of the account, by name (the name carries a digest of the key, so a new
    key gets a new name and the old one is deleted after)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.api = client(settings)

    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        body = {"name": inputs["name"], "public_key": inputs["public_key"]}
        try:
            made = _data(self.api.call("POST", "/ssh-keys", body, "add SSH key"))
        except CloudError as exc:
            if exc.kind is not None:  # credentials, quota...: nothing to adopt
                raise
            same = self._named(str(inputs["name"]))  # left by an earlier run of this stack?
            if same is None or same.get("public_key", "").split()[:2] != str(
                    inputs["public_key"]).split()[:2]:
                raise
            made = same
        return str(made["id"]), {}

    def _named(self, name: str) -> dict[str, Any] | None:
        keys = _data(self.api.call("GET", "/ssh-keys", what="list SSH keys")) or []
        return next((k for k in keys if isinstance(k, dict) and k.get("name") == name), None)

    def read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        keys = _data(self.api.call("GET", "/ssh-keys", what="list SSH keys")) or []
        return {} if any(isinstance(k, dict) and k.get("id") == id_ for k in keys) else None

    def delete(self, id_: str, state: Mapping[str, Any]) -> None:
        try:
            self.api.call("DELETE", f"/ssh-keys/{id_}", what="delete SSH key")
        except CloudError as exc:
            if not _missing(exc):
                raise


class FirewallRuleset(Operations):
    """A firewall ruleset of one region, attached to the cluster's instances at launch."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.api = client(settings)

    def check(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        for rule in inputs.get("rules") or []:
            low, high = (rule.get("port_range") or [0, 0])[:2]
            if not 1 <= int(low) <= int(high) <= 65535:
                return [("rules", f"port range {low}-{high} is not within 1-65535")]
        return []

    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        body = {"name": inputs["name"], "region": inputs["region"],
                "rules": list(inputs.get("rules") or [])}
        made = _data(self.api.call("POST", "/firewall-rulesets", body,
                                   "create firewall ruleset"))
        return str(made["id"]), {}

    def read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            self.api.call("GET", f"/firewall-rulesets/{id_}", what="read firewall ruleset")
        except CloudError as exc:
            if _missing(exc):
                return None
            raise
        return {}

    def update(self, id_: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        body = {"name": news["name"], "rules": list(news.get("rules") or [])}
        self.api.call("PATCH", f"/firewall-rulesets/{id_}", body, "update firewall ruleset")
        return {}

    def delete(self, id_: str, state: Mapping[str, Any]) -> None:
        try:
            self.api.call("DELETE", f"/firewall-rulesets/{id_}",
                          what="delete firewall ruleset")
        except CloudError as exc:
            if not _missing(exc):
                raise


def _outputs(instance: Mapping[str, Any]) -> dict[str, Any]:
    return {"public_ip": instance.get("ip"), "private_ip": instance.get("private_ip"),
            "status": instance.get("status")}


class Instance(Operations):
    """One node: launched, then waited for until it is active with an address (or
    terminated again, so a failed create leaves nothing behind)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.api = client(settings)
        self.poll = float(settings.get("poll_seconds", 10.0))
        self.launch_timeout = float(settings.get("launch_timeout", 1200.0))
        self.delete_timeout = float(settings.get("delete_timeout", 300.0))

    def check(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        out = []
        if len(str(inputs.get("name", ""))) > NAME_LIMIT:
            out.append(("name", f"Lambda takes instance names of at most {NAME_LIMIT} "
                                "characters"))
        if len(str(inputs.get("user_data") or "").encode()) > USER_DATA_LIMIT:
            out.append(("user_data", "Lambda takes at most 1 MB of user data"))
        return out

    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "region_name": inputs["region"], "instance_type_name": inputs["instance_type"],
            "ssh_key_names": [inputs["ssh_key_name"]], "name": inputs["name"],
            "user_data": inputs.get("user_data") or "",
            "firewall_rulesets": [{"id": i} for i in inputs.get("firewall_ruleset_ids") or []],
            "tags": list(inputs.get("tags") or []),
        }  # fmt: skip
        if inputs.get("image"):
            body["image"] = dict(inputs["image"])
        made = _data(self.api.call("POST", "/instance-operations/launch", body,
                                   "launch instance"))
        ids = [str(i) for i in (made or {}).get("instance_ids") or []]
        if len(ids) != 1:
            for extra in ids:
                self._terminate(extra)
            raise CloudError(f"lambda launch instance: expected one instance id, got {ids}")
        try:
            return ids[0], _outputs(self._wait_active(ids[0]))
        except BaseException as exc:
            try:
                self._terminate(ids[0])  # nothing left behind when create fails
            except CloudError as undo:
                raise CloudError(f"{exc}; terminating instance {ids[0]} again failed too, so "
                                 f"it may still run and bill: {undo}",
                                 kind=getattr(exc, "kind", None)) from exc
            raise

    def _wait_active(self, id_: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.launch_timeout
        while True:
            found = _data(self.api.call("GET", f"/instances/{id_}", what="read instance"))
            status = (found or {}).get("status")
            if status == "active" and found.get("ip"):
                return dict(found)
            if status in FAILED:
                raise CloudError(f"lambda instance {id_} became {status} while booting "
                                 f"{failover_mark('capacity')}", kind="capacity")
            if time.monotonic() >= deadline:
                raise CloudError(f"lambda instance {id_} was not active with an address "
                                 f"after {self.launch_timeout:g} s (status {status})")
            time.sleep(self.poll)

    def read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            found = _data(self.api.call("GET", f"/instances/{id_}", what="read instance"))
        except CloudError as exc:
            if _missing(exc):
                return None
            raise
        if not found or found.get("status") in GONE:
            return None
        return _outputs(found)

    def update(self, id_: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        found = _data(self.api.call("POST", f"/instances/{id_}", {"name": news["name"]},
                                    "rename instance"))
        return _outputs(found or {})

    def _terminate(self, id_: str) -> None:
        try:
            self.api.call("POST", "/instance-operations/terminate", {"instance_ids": [id_]},
                          "terminate instance")
        except CloudError as exc:
            if not _missing(exc):
                raise

    def delete(self, id_: str, state: Mapping[str, Any]) -> None:
        """Terminate, then wait (bounded) until Lambda says it is gone, so the ruleset and
        key it used can be deleted after it."""
        self._terminate(id_)
        deadline = time.monotonic() + self.delete_timeout
        while time.monotonic() < deadline and self.read(id_, state) is not None:
            time.sleep(self.poll)


_POWER: dict[str, NodePower] = {"booting": "pending", "active": "running",
                                 "unhealthy": "running", "terminating": "stopping"}
# terminated, preempted: gone


def node_states(region: str, cluster: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The cluster's instances as Lambda reports them now (`GET /instances`, those tagged
    `stix-cluster: <cluster>` in `region`), by node name; a gone instance is absent."""
    from stix.clouds.base import NodeState

    listed = _data(client(settings).call("GET", "/instances", what="list instances")) or []
    found: dict[str, Any] = {}
    for inst in listed:
        if not isinstance(inst, dict) or (inst.get("region") or {}).get("name") != region:
            continue
        tags = {t.get("key"): t.get("value") for t in inst.get("tags") or []
                if isinstance(t, dict)}
        power = _POWER.get(str(inst.get("status")))
        if tags.get("stix-cluster") != cluster or power is None or not inst.get("name"):
            continue
        found[inst["name"]] = NodeState(inst["name"], power, inst.get("ip"),
                                        inst.get("private_ip"), inst.get("id"))
    return found
