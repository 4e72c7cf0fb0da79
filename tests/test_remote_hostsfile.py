"""The hosts-file block a job group writes on its nodes, run by bash on a file of its own:
it replaces its own lines only, and goes whole."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from stix.remote.hostsfile import block_script


def test_the_hosts_block_replaces_its_own_lines_only(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.0.0.9 x-0.h #stix-hosts=g-x\n")

    def write(entries: list[tuple[str, str]]) -> str:
        done = subprocess.run(["bash", "-c", block_script("g", entries, str(hosts))],
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    said = write([("10.0.0.1", "a-0.g"), ("10.0.0.2", "b-0.g")])
    if os.geteuid() != 0:
        assert said in ("no-root", "hosts")
        return
    assert said == "hosts"
    write([("10.0.0.3", "a-0.g")])  # a second `up`: the cluster's old lines go
    assert hosts.read_text() == ("127.0.0.1 localhost\n10.0.0.9 x-0.h #stix-hosts=g-x\n"
                                 "10.0.0.3 a-0.g #stix-hosts=g\n")
    assert write([]) == "hosts"  # `down`: the block goes, the rest stays
    assert hosts.read_text() == "127.0.0.1 localhost\n10.0.0.9 x-0.h #stix-hosts=g-x\n"
