"""A replica stand-in for the load balancer's tests: a real HTTP server in its own process
(so a test can SIGKILL it mid-request, as a node dies), answering with its own name.

`python lb_backend.py NAME PORT [DELAY]`: prints "ready" once listening. Paths:
`/` answers NAME after DELAY seconds; `/sleep/S` after S seconds; `/stream/N` sends N bytes
0.1 s apart (a long streaming answer). POST reads its body and answers the same way.
"""

from __future__ import annotations

import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()  # headers and body go out in two writes: no Nagle wait between
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "stream":
                count = int(parts[1])
                self.send_response(200)
                self.send_header("Content-Length", str(count))
                self.end_headers()
                for _ in range(count):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
                return
            time.sleep(float(parts[1]) if parts[0] == "sleep" else delay)
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # HAProxy closing an idle keep-alive connection is not news

    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
