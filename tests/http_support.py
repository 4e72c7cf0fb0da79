"""A real HTTP server on loopback that answers a cloud's REST calls from routes a test
sets (method, path) → (status, headers, JSON body, or bytes sent as they are), keeping
every request it was sent and its headers.
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
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                stand_in.calls.append((self.command, parts.path, query))
                stand_in.headers.append(dict(self.headers))
                found = stand_in.routes.get((self.command, parts.path))
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

            do_GET = do_DELETE = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def paths(self, method: str) -> list[str]:
        return [p for m, p, _ in self.calls if m == method]


def serving() -> StandIn:
    """A stand-in already answering (its thread is a daemon; `stop()` ends it)."""
    import threading

    server = StandIn()
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    return server
