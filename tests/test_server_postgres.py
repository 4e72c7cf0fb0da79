"""The server on PostgreSQL: Debian's PostgreSQL started by the test in a temporary
directory, the schema made by the same Alembic migrations as SQLite's, a job run to the
end on `local`, and the server restarted against the same database."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stix import api
from stix.server import process

pytestmark = pytest.mark.slow


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def postgres() -> Iterator[str]:
    """A PostgreSQL server of its own; its SQLAlchemy URL."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt install postgresql)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run it as Debian's postgres user
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = Path(tempfile.mkdtemp(prefix="stix-pg-"))
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "stix",
                    "-A", "trust", "--no-sync"], check=True, capture_output=True)
    proc = subprocess.Popen([*as_user, str(bin_dir / "postgres"), "-D", str(data / "db"),
                             "-k", str(data), "-h", "127.0.0.1", "-p", str(port),
                             "-c", "fsync=off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(f"host=127.0.0.1 port={port} user=stix dbname=postgres",
                                 autocommit=True) as conn:
                conn.execute("CREATE DATABASE stix_server")
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.2)
    try:
        yield f"postgresql+psycopg://stix@127.0.0.1:{port}/stix_server"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def test_jobs_on_a_postgresql_server_survive_a_restart(stix_home: Path, tmp_path: Path,
                                                       postgres: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from stix.server.db import metadata

    monkeypatch.setenv("STIX_SERVER_DB", postgres)
    monkeypatch.setenv("STIX_SERVER_PROBE_SECONDS", "0.5")
    task = tmp_path / "pg.yaml"
    task.write_text("name: pg\nresources: {infra: local, cpus: 1+, memory: 0.5+}\n"
                    "run: echo on postgres $STIX_JOB_ATTEMPT\n")
    started = process.start()
    try:
        assert started.db.startswith("127.0.0.1:")  # the URL's password/user part is not shown
        accepted = api.jobs_launch(task)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            [job] = [j for j in api.jobs_queue(everything=True) if j.id == accepted.id]
            if job.status.terminal:
                break
            time.sleep(0.3)
        assert job.status.value == "SUCCEEDED", job
        process.stop()
        process.start()  # the same database: the job is still there, nothing runs again
        [again] = api.jobs_queue(everything=True)
        assert again.id == accepted.id and again.status.value == "SUCCEEDED"
        assert len(again.attempts) == 1
        out: list[str] = []
        api.jobs_logs(accepted.id, write=lambda label, text: out.append(text))
        assert "on postgres 1" in "".join(out)
    finally:
        process.stop()
    engine = sa.create_engine(postgres)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables and "alembic_version" in tables
        assert conn.execute(sa.text("SELECT count(*) FROM jobs")).scalar() == 1
    engine.dispose()
