"""A real HTTP server on loopback that answers a cloud's REST calls from routes a test
sets (method, path) → (status, headers, JSON body, or bytes sent as they are), keeping
every request it was sent, its headers and its JSON body. A route's path may end in `*`
to answer every path under it (`/api/v1/instances/*`); an exact path wins.
It stands in for APIs no test here can reach; what it proves is limited to the requests
stix makes and how it reads answers of the documented shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]
Route = Callable[[str, dict[str, list[str]]], Answer]


class StandIn:
    """Routes (method, path) → answer; every request is kept as (method, path, query)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Answer | Route] = {}
        self.calls: list[tuple[str, str, dict[str, list[str]]]] = []
        self.headers: list[dict[str, str]] = []  # per call, in the same order
        self.bodies: list[Any] = []  # per call: the decoded JSON body (None: none sent)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b""
                stand_in.calls.append((self.command, parts.path, query))
                stand_in.headers.append(dict(self.headers))
                stand_in.bodies.append(json.loads(raw) if raw.strip() else None)
                found = stand_in.route(self.command, parts.path)
                if found is None:
                    status, headers, body = 404, {}, {"error": {"message": "not here"}}
                elif callable(found):
                    status, headers, body = found(parts.path, query)
                else:
                    status, headers, body = found
                if isinstance(body, bytes):
                    data, kind = body, "text/plain"
                else:
                    data = b"" if body is None else json.dumps(body).encode()
                    kind = "application/json"
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_DELETE = do_POST = do_PUT = do_PATCH = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def route(self, method: str, path: str) -> Answer | Route | None:
        found = self.routes.get((method, path))
        if found is not None:
            return found
        for (m, pattern), answer in sorted(self.routes.items(), key=lambda r: -len(r[0][1])):
            if m == method and pattern.endswith("*") and path.startswith(pattern[:-1]):
                return answer
        return None

    def body(self, method: str, path: str) -> Any:
        """The JSON body of the last `method` request to `path`."""
        found = [b for (m, p, _), b in zip(self.calls, self.bodies, strict=True) if (m, p) == (method, path)]
        return found[-1] if found else None

    def paths(self, method: str) -> list[str]:
        return [p for m, p, _ in self.calls if m == method]


def serving() -> StandIn:
    """A stand-in already answering (its thread is a daemon; `stop()` ends it)."""
    import threading

    server = StandIn()
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    return server
