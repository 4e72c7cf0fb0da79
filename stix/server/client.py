"""The client side of the stix server (what the CLI and `stix.api` use): where the server
is (a configured URL, else the local one, started on demand for a launch), and its calls
over HTTP with the bearer token."""

from __future__ import annotations

from typing import Any

from stix.errors import NotFoundError, StixError
from stix.server.models import Accepted, JobSpec, JobView


class ServerError(StixError):
    """The server refused a call or could not be reached."""


class Client:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=f"{self.url}/api/v1", timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}"})

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            reply = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ServerError(f"the stix server at {self.url} does not answer: {exc}",
                              hint="`stix server status`") from None
        if reply.status_code == 404:
            raise NotFoundError(_detail(reply))
        if reply.status_code == 401:
            raise ServerError(f"the stix server at {self.url} refused the token",
                              hint="the token is ~/.stix/server/token on the server's machine")
        if reply.status_code >= 400:
            raise ServerError(f"the stix server refused the call: {_detail(reply)}")
        return reply.json()

    def launch(self, spec: JobSpec) -> Accepted:
        return Accepted.model_validate(self._call("POST", "/jobs",
                                                  json=spec.model_dump(mode="json")))

    def queue(self, *, everything: bool = False, name: str | None = None) -> list[JobView]:
        params: dict[str, Any] = {"all": everything}
        if name is not None:
            params["name"] = name
        return [JobView.model_validate(j) for j in self._call("GET", "/jobs", params=params)]

    def job(self, job_id: int) -> JobView:
        return JobView.model_validate(self._call("GET", f"/jobs/{job_id}"))

    def cancel(self, *, ids: list[int] | None = None, name: str | None = None,
               everything: bool = False) -> list[int]:
        body = {"ids": ids, "name": name, "all": everything}
        return list(self._call("POST", "/jobs/cancel", json=body)["cancelling"])

    def logs(self, job_id: int, *, attempt: int | None = None, controller: bool = False,
             offsets: dict[str, int] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"controller": controller}
        if attempt is not None:
            params["attempt"] = attempt
        if offsets:
            params["offsets"] = ",".join(f"{k}:{v}" for k, v in offsets.items())
        return dict(self._call("GET", f"/jobs/{job_id}/logs", params=params))

    def close(self) -> None:
        self.http.close()


def _detail(reply: Any) -> str:
    try:
        detail = reply.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # FastAPI's validation errors
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}"
                           for d in detail)
    return str(detail or reply.text or reply.status_code)


def connect(*, start: bool = False, say: Any = None) -> Client:
    """A client for the configured server, else the local one (started when `start`)."""
    from stix.server import process
    from stix.server.settings import load_settings

    settings = load_settings()
    if settings.url:
        return Client(settings.url, _remote_token())
    found = process.running()
    if found is None:
        if not start:
            raise ServerError("no stix server is running here",
                              hint="`stix jobs launch` starts one, or `stix server start`")
        found = process.start(settings)
        if say is not None:
            say(f"started a local stix server at {found.url} (logs: {process.log_path()}; "
                "`stix server stop` stops it)")
    return Client(found.url, process.token())


def _remote_token() -> str:
    import os

    from stix.server.process import token_path

    value = os.environ.get("STIX_SERVER_TOKEN")
    if value:
        return value.strip()
    path = token_path()
    if not path.is_file():
        raise ServerError("no token for the configured stix server",
                          hint=f"put it in {path} (0600) or STIX_SERVER_TOKEN")
    return path.read_text().strip()
