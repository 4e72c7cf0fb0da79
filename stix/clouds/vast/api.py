"""Vast's REST API as the dynamic provider uses it: one resource type, an instance rented
from the cheapest offer that matches the shape the stack records.

What this relies on, from Vast's API reference (docs.vast.ai, "Creating Instances with the
API", "Search Offers", "API Hello World"; the OpenAPI files of github.com/vast-ai/docs):
- base URL `https://console.vast.ai/api/v0`, the API key as a bearer token;
- `POST /bundles/` searches offers: a JSON object of `{field: {op: value}}` filters
  (`eq neq gt gte lt lte in notin`) and `type` (`ondemand` | `bid`), `order`, `limit`,
  `allocated_storage`; the answer is `{"offers": [...]}` with `id`, `gpu_name`,
  `num_gpus`, `gpu_ram` (MB), `cpu_cores_effective`, `cpu_ram` (MB), `geolocation`
  ("City, CC"), `dph_total` ($/h at the asked storage), `min_bid`, `disk_space`,
  `direct_port_count`, `machine_id`; `GET /bundles/?q=<the same JSON>` needs no account;
- `PUT /asks/{offer id}/` rents it: `{image, disk, label, runtype, env, onstart, price
  (the bid, interruptible only), cancel_unavail}` → `{"success": true, "new_contract":
  <instance id>}`; an offer gone is 404/410 `no_such_ask`, a stale quote 400
  `invalid_price`;
- `POST /instances/{id}/ssh/` `{ssh_key}` attaches a public key to that one instance;
- `GET /instances/{id}/` → `{"instances": {...}}` (null: not on the account) with
  `actual_status` (null, loading, running, exited, offline, unknown), `ssh_host`,
  `ssh_port`, `public_ipaddr`, `ports` (`{"22/tcp": [{"HostPort": "41022"}]}`),
  `dph_total`; `PUT /instances/{id}/` `{"state": "stopped" | "running"}`;
  `DELETE /instances/{id}/`;
- errors are `{"success": false, "error": "<code>", "msg": "..."}`; a bad key is 401/403
  (the search answers 404 "Invalid user key"); rate limits answer 429.

Vast is a marketplace: the offer a plan saw may be rented by someone else a minute later,
so the stack records the shape (GPU, count, least vCPUs and RAM, region, highest price)
and `create` searches and rents at apply time; the exact host is known only then.

The key comes from `$VAST_API_KEY`, else `~/.config/vastai/vast_api_key` (Vast's CLI and
SkyPilot) or the older `~/.vast_api_key` (the file holds the key alone), read where the
call is made and never put in a stack or state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from stix.clouds.base import ErrorKind
from stix.clouds.dynamic import CloudError, ErrorRule, ErrorTable, Operations, RestApi
from stix.clouds.vast.credentials import KEY_ENV, KEY_FILES, api_key
from stix.clouds.vast.errors import CODES, STATUSES
from stix.engine.errors import failover_mark

API = "https://console.vast.ai/api/v0"
RUNTYPE = "ssh_direct"  # port 22 mapped on the host: SSH needs no Vast proxy
RUNNING = "running"
FAILED = ("exited", "offline", "unknown")  # never reaches running (Vast's hello world)
OFFERS_TRIED = 3  # offers rented in turn when the cheapest is taken meanwhile
READY_TIMEOUT = 20 * 60.0  # image pull and start; SkyPilot waits up to 30 minutes
POLL_SECONDS = 10.0


def parse_error(body: Any) -> tuple[str, str]:
    """(code, message) of Vast's `{"success": false, "error", "msg"}`. When `error` is the
    generic `invalid_args`, a code the message leads with (`no_such_ask ...`) is the code;
    the search's "Invalid user key" answer is given the code `invalid_user_key`."""
    if not isinstance(body, dict):
        return "", str(body or "")[:500]
    code = str(body.get("error") or "")
    message = str(body.get("msg") or body.get("detail") or body.get("message") or "")
    named = re.search(r"\b([a-z]+(?:_[a-z]+)+)\b", message)
    if named and code in ("", "invalid_args", "invalid_request"):
        code = named.group(1)
    if "invalid user key" in message.lower():
        code = "invalid_user_key"
    return code, message


ERRORS = ErrorTable((*(ErrorRule(kind, code) for kind, code in CODES),
                     *(ErrorRule(kind, status=status) for kind, status in STATUSES)),
                    parse=parse_error)


def client(settings: Mapping[str, Any]) -> RestApi:
    """The API with the key found here; without one, a credentials error (no call made)."""
    key = api_key()
    if not key:
        raise CloudError(f"vast: no API key (set ${KEY_ENV} or write it to {KEY_FILES[0]}) "
                         f"{failover_mark('credentials')}", kind="credentials")
    return RestApi("vast", str(settings.get("base_url") or API), key, ERRORS)


def offer_query(inputs: Mapping[str, Any], limit: int = 20) -> dict[str, Any]:
    """The search for offers of the recorded shape, cheapest first."""
    spot = bool(inputs.get("interruptible"))
    price = "min_bid" if spot else "dph_total"
    query: dict[str, Any] = {
        "rentable": {"eq": True},
        "verified": {"eq": inputs.get("verified", True) is not False},
        "gpu_name": {"in": [inputs["gpu_name"].replace(" ", "_")]},
        "num_gpus": {"eq": int(inputs["num_gpus"])},
        "cpu_cores_effective": {"gte": inputs["min_vcpus"]},
        "cpu_ram": {"gte": int(inputs["min_memory_gib"] * 1024)},
        "disk_space": {"gte": inputs["disk_gb"]},
        "geolocation": {"in": [inputs["region"]]},
        "direct_port_count": {"gte": 1 + len(inputs.get("ports") or [])},
        price: {"lte": inputs["max_price"]},
        "type": "bid" if spot else "ondemand",
        "allocated_storage": inputs["disk_gb"],
        "order": [[price, "asc"]],
        "limit": limit,
    }
    if inputs.get("min_gpu_memory_gib"):
        query["gpu_ram"] = {"gte": int(inputs["min_gpu_memory_gib"] * 1000)}
    if inputs.get("datacenter"):
        query["datacenter"] = {"eq": True}
    return query


def ssh_endpoint(found: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """(host, port) SSH reaches the instance at: the host's public address and the port
    Docker mapped to the container's 22, else Vast's SSH proxy (`ssh_host:ssh_port`)."""
    mapped = (found.get("ports") or {}).get("22/tcp") or []
    ip = found.get("public_ipaddr")
    if mapped and isinstance(mapped, list) and ip:
        try:
            return str(ip).strip(), int(mapped[0]["HostPort"])
        except (KeyError, TypeError, ValueError):
            pass
    if found.get("ssh_host") and found.get("ssh_port"):
        return str(found["ssh_host"]), int(found["ssh_port"])
    return None, None


def _outputs(found: Mapping[str, Any], offer: Mapping[str, Any] | None = None
             ) -> dict[str, Any]:  # fmt: skip
    host, port = ssh_endpoint(found)
    return {
        "ssh_host": host, "ssh_port": port,
        "public_ip": str(found.get("public_ipaddr") or "").strip() or None,
        "status": found.get("actual_status"),
        "hourly_price": found.get("dph_total") or (offer or {}).get("dph_total"),
        "machine_id": found.get("machine_id") or (offer or {}).get("machine_id"),
        "geolocation": found.get("geolocation") or (offer or {}).get("geolocation"),
    }


class Instance(Operations):
    """One Vast instance: found by offer search, rented, given the stack's SSH key, and
    waited on until it runs with an SSH port."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.api = client(settings)
        self.poll = float(settings.get("poll_seconds", POLL_SECONDS))
        self.timeout = float(settings.get("ready_timeout", READY_TIMEOUT))

    def check(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        bad = []
        if inputs.get("disk_gb", 8) < 8:
            bad.append(("disk_gb", "Vast's smallest disk is 8 GB"))
        if not str(inputs.get("public_key") or "").strip():
            bad.append(("public_key", "an instance needs the stack's SSH key"))
        return bad

    def offers(self, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        answer = self.api.call("POST", "/bundles/", offer_query(inputs), "search offers")
        found = answer.get("offers") if isinstance(answer, dict) else None
        return [o for o in found or [] if isinstance(o, dict) and o.get("id") is not None]

    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        offers = self.offers(inputs)
        if not offers:
            spot = bool(inputs.get("interruptible"))
            kind: ErrorKind = "spot" if spot else "capacity"
            raise CloudError(
                f"vast search offers: no_offers: no {'interruptible ' if spot else ''}offer "
                f"of {inputs['num_gpus']}× {inputs['gpu_name']} with {inputs['min_vcpus']}+ "
                f"vCPUs and {inputs['min_memory_gib']}+ GiB in {inputs['region']} at up to "
                f"${inputs['max_price']}/h {failover_mark(kind)}", code="no_offers", kind=kind)
        last: CloudError | None = None
        for offer in offers[:OFFERS_TRIED]:
            try:
                made = self.api.call("PUT", f"/asks/{offer['id']}/", self._rent(inputs, offer),
                                     "create instance")
            except CloudError as exc:
                if exc.kind != "capacity":
                    raise
                last = exc  # taken since the search: the next one
                continue
            id_ = str(made.get("new_contract") if isinstance(made, dict) else "")
            if not id_ or id_ == "None":
                raise CloudError(f"vast create instance: no new_contract in {made!r}")
            try:
                self.api.call("POST", f"/instances/{id_}/ssh/",
                              {"ssh_key": str(inputs["public_key"]).strip()}, "attach ssh key")
                found = (self._get(id_) or {} if inputs.get("state") == "stopped"
                         else self._wait(id_))
                return id_, _outputs(found, offer)
            except BaseException as exc:
                self._undo(id_, exc)
                raise
        assert last is not None
        raise last

    def _rent(self, inputs: Mapping[str, Any], offer: Mapping[str, Any]) -> dict[str, Any]:
        env = {str(k): str(v) for k, v in (inputs.get("env") or {}).items()}
        for port in inputs.get("ports") or []:
            env[f"-p {int(port)}:{int(port)}"] = "1"
        body: dict[str, Any] = {
            "image": inputs["image"], "disk": inputs["disk_gb"], "label": inputs["label"],
            "runtype": RUNTYPE, "env": env, "onstart": inputs.get("onstart") or "",
            "cancel_unavail": True,
        }  # fmt: skip
        if inputs.get("interruptible"):
            floor = float(offer.get("min_bid") or 0.0)
            body["price"] = round(min(float(inputs["max_price"]), max(floor * 1.1, floor)), 4)
        if inputs.get("state") == "stopped":
            body["target_state"] = "stopped"
        return body

    def _wait(self, id_: str) -> dict[str, Any]:
        """The instance once it runs with an SSH endpoint (or, made stopped, exists);
        a state it never leaves, or the timeout, fails the create."""
        deadline = time.monotonic() + self.timeout
        while True:
            found = self._get(id_)
            if found is None:
                raise CloudError(f"vast instance {id_}: gone while starting "
                                 f"{failover_mark('capacity')}", kind="capacity")
            status = str(found.get("actual_status") or "").lower()
            if status == RUNNING and ssh_endpoint(found)[0]:
                return found
            if status in FAILED:
                raise CloudError(
                    f"vast instance {id_}: {status} before it ran "
                    f"({found.get('status_msg') or 'no message'}): the host is destroyed, "
                    f"another offer is tried {failover_mark('capacity')}", kind="capacity")
            if time.monotonic() >= deadline:
                raise CloudError(f"vast instance {id_}: not running after "
                                 f"{self.timeout:g}s (status {status or 'null'}) "
                                 f"{failover_mark('capacity')}", kind="capacity")
            time.sleep(self.poll)

    def _get(self, id_: str) -> dict[str, Any] | None:
        try:
            answer = self.api.call("GET", f"/instances/{id_}/", what="show instance")
        except CloudError as exc:
            if exc.status == 404:
                return None
            raise
        found = answer.get("instances") if isinstance(answer, dict) else None
        return found if isinstance(found, dict) and found else None

    def _undo(self, id_: str, cause: BaseException) -> None:
        """Destroy an instance whose create failed; when that fails too, say both."""
        try:
            self._destroy(id_)
        except CloudError as exc:
            raise CloudError(f"{cause}; and the instance {id_} it rented could not be "
                             f"destroyed ({exc}): destroy it in Vast's console") from None

    def _destroy(self, id_: str) -> None:
        try:
            self.api.call("DELETE", f"/instances/{id_}/", what="destroy instance")
        except CloudError as exc:
            if exc.status != 404:
                raise

    def read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self._get(id_)
        return None if found is None else _outputs(found)

    def update(self, id_: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        """Stop or start (`state`), the one change Vast makes in place; compute billing
        ends while stopped, the disk is billed on."""
        want = "stopped" if news.get("state") == "stopped" else RUNNING
        self.api.call("PUT", f"/instances/{id_}/", {"state": want}, f"set instance {want}")
        found = self._wait(id_) if want == RUNNING else self._get(id_)
        if found is None:
            raise CloudError(f"vast instance {id_}: gone")
        return _outputs(found)

    def delete(self, id_: str, state: Mapping[str, Any]) -> None:
        self._destroy(id_)
