"""The server's HTTP API and database in one process (FastAPI's test client, SQLite on
disk): the bearer token on every route but health, what a job view holds and leaves out,
and migrations that build exactly the tables the code declares."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from stix.server import process
from stix.server.app import API, create_app
from stix.server.db import DatabaseError, make_engine, metadata, migrate

TASK = {"name": "t", "resources": {"infra": "local"}, "run": "echo hi"}


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    migrate(engine)
    return engine


@pytest.fixture
def client(db: Engine) -> TestClient:
    return TestClient(create_app(db, "s3cret"))


def _auth(token: str = "s3cret") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_route_but_health_needs_the_token(client: TestClient) -> None:
    assert client.get(f"{API}/health").json()["ok"] is True
    for headers in ({}, _auth("wrong"), {"Authorization": "Basic s3cret"}):
        reply = client.get(f"{API}/jobs", headers=headers)
        assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
        assert client.post(f"{API}/jobs", json={"name": "x", "tasks": [TASK]},
                           headers=headers).status_code == 401
    assert client.get(f"{API}/jobs", headers=_auth()).json() == []


def test_a_submitted_job_is_queued_without_its_secrets(client: TestClient) -> None:
    reply = client.post(f"{API}/jobs", headers=_auth(),
                        json={"name": "train", "tasks": [TASK, TASK], "secrets": {"K": "tok-9f3a"}})
    assert reply.status_code == 201
    accepted = reply.json()
    assert accepted["status"] == "PENDING"
    [job] = client.get(f"{API}/jobs", headers=_auth()).json()
    assert (job["id"], job["name"], job["tasks"], job["status"]) == (
        accepted["id"], "train", 2, "PENDING")
    one: dict[str, Any] = client.get(f"{API}/jobs/{job['id']}", headers=_auth()).json()
    assert "secrets" not in one and "tok-9f3a" not in str(one)
    assert client.get(f"{API}/jobs/999", headers=_auth()).status_code == 404
    assert client.get(f"{API}/jobs/{job['id']}/logs?attempt=3",
                      headers=_auth()).status_code == 404


def test_bad_requests_are_refused(client: TestClient) -> None:
    assert client.post(f"{API}/jobs", headers=_auth(),
                       json={"name": "", "tasks": [TASK]}).status_code == 422
    assert client.post(f"{API}/jobs", headers=_auth(),
                       json={"name": "x", "tasks": []}).status_code == 422
    assert client.post(f"{API}/jobs/cancel", headers=_auth(),
                       json={"ids": ["1; drop"]}).status_code == 422


def test_cancel_by_name_and_all(client: TestClient) -> None:
    for name in ("a", "b", "b"):
        client.post(f"{API}/jobs", headers=_auth(), json={"name": name, "tasks": [TASK]})
    got = client.post(f"{API}/jobs/cancel", headers=_auth(), json={"name": "b"}).json()
    assert sorted(got["cancelling"]) == [2, 3]
    got = client.post(f"{API}/jobs/cancel", headers=_auth(), json={"all": True}).json()
    assert 1 in got["cancelling"]


def test_migrations_build_what_the_code_declares(db: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    migrate(db)  # again: nothing to do


def test_a_newer_schema_is_refused(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with pytest.raises(DatabaseError, match="newer than this stix knows"):
        migrate(db)


def test_the_token_file_is_private(stix_home: Path) -> None:
    value = process.token()
    assert len(value) >= 32 and process.token() == value
    assert stat.S_IMODE(process.token_path().stat().st_mode) == 0o600


def test_the_cli_says_when_no_server_runs(stix_home: Path) -> None:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "stix", "jobs", "queue"], capture_output=True,
                         text=True, env={**os.environ, "STIX_HOME": str(stix_home)})
    assert run.returncode == 1
    assert "no stix server is running here" in run.stderr and "Traceback" not in run.stderr
    status = subprocess.run([sys.executable, "-m", "stix", "server", "status", "--json"],
                            capture_output=True, text=True,
                            env={**os.environ, "STIX_HOME": str(stix_home)})
    assert status.returncode == 1 and '"local": null' in status.stdout
