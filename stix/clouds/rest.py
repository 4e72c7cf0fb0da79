"""JSON over HTTPS with a bearer token, for the few cloud API calls stix makes itself
(node power states, Azure's deallocate, console output) where pulling in a cloud's whole
SDK for one call is not worth it; and plain text from a pre-signed URL (no token). The
token comes from the cloud's own auth library; the base URL is a parameter so the calls
can be exercised against a real HTTP server on loopback."""

from __future__ import annotations

import json
from typing import Any

from stix.errors import StixError

TIMEOUT = 30.0


class ApiError(StixError):
    """A cloud API call that failed (the message names the call and the status)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.body = body  # the error answer: decoded JSON, else its text (None: no answer)


def _decoded(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def call(method: str, url: str, token: str, body: Any = None,
         what: str = "cloud API call", timeout: float = TIMEOUT) -> tuple[int, dict[str, str], Any]:
    """(status, headers, decoded JSON or None). 4xx/5xx raise ApiError naming `what`, with
    the decoded error answer as `body`."""
    import http.client
    import urllib.error
    import urllib.request  # here: urllib.request costs ~20 ms, and credential checks
    # import this module without calling anything

    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json",
        "User-Agent": "stix", **({"Content-Type": "application/json"} if data is not None else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            text = reply.read().decode("utf-8")
            return reply.status, dict(reply.headers), json.loads(text) if text.strip() else None
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        detail = text[:500]
        raise ApiError(f"{what}: HTTP {exc.code} {detail}".strip(), exc.code,
                       _decoded(text) if text.strip() else None) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise ApiError(f"{what}: {exc}") from None


def fetch_text(url: str, what: str = "download") -> str:
    """The text at a pre-signed URL (it carries its own grant: no token is sent, so the
    cloud's bearer token never reaches a storage host). 4xx/5xx raise ApiError; no
    message repeats the URL, whose query is the grant."""
    import http.client
    import urllib.error
    import urllib.request

    try:
        request = urllib.request.Request(url, method="GET")
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            return str(reply.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise ApiError(f"{what}: HTTP {exc.code} {detail}".strip(), exc.code) from None
    except ValueError:
        raise ApiError(f"{what}: the cloud answered with an unusable URL") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise ApiError(f"{what}: {exc}") from None
