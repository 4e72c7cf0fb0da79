"""An SSH ProxyCommand for tests: relays stdin/stdout to the machine that stands in for
host `%h`. `proxy_relay.py HOST PORT MAP`: MAP is a JSON file `{"map": {host: "addr:port"},
"free": ["addr:port", ...]}`; a host seen for the first time takes the next free entry
(as a new cloud VM would be a new machine). Hosts in `"gone"` are refused (a VM that is
no more)."""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import socket
import sys


def target(host: str, path: str) -> tuple[str, int]:
    with open(path, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        data = json.load(f)
        if host in data.get("gone", []):
            sys.exit(f"proxy_relay: {host} is gone")
        if host not in data["map"]:
            if not data["free"]:
                sys.exit(f"proxy_relay: no machine left for {host}")
            data["map"][host] = data["free"].pop(0)
            f.seek(0)
            f.truncate()
            json.dump(data, f)
        addr, _, port = data["map"][host].rpartition(":")
    return addr, int(port)


def main() -> None:
    host, _port, path = sys.argv[1:4]
    sock = socket.create_connection(target(host, path), timeout=10)
    sock.settimeout(None)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is sock:
                data = sock.recv(65536)
                if not data:
                    return
                os.write(sys.stdout.fileno(), data)
            else:
                data = os.read(sys.stdin.fileno(), 65536)
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    sel.unregister(sys.stdin.fileno())
                    continue
                sock.sendall(data)


if __name__ == "__main__":
    main()
