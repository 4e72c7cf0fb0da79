"""Shared fixtures. Every test gets its own STIX_HOME so nothing touches ~/.stix."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


# Tests that start real servers share machine-wide names (test users and network
# namespaces, container names, HAProxy and PostgreSQL instances), and tests that time
# signals against local clusters' processes: they are marked `machine` so `.ci/test` runs
# them in one process, in order, and the others on two workers.
_MACHINE_MARKERS = frozenset({"sshd", "serve", "haproxy", "pulumi_cli"})
_MACHINE_MODULES = frozenset({"test_remote_container.py", "test_serve_lb.py",
                              "test_serve_local.py", "test_server_postgres.py",
                              # signals and kills timed against local clusters' processes
                              "test_cluster_faults.py"})


@pytest.hookimpl(tryfirst=True)  # before `-m` selects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        markers = {m.name for m in item.iter_markers()}
        if (markers & _MACHINE_MARKERS or item.path.name in _MACHINE_MODULES
                or "sshd_hosts" in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.machine)


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("stix-home")
    monkeypatch.setenv("STIX_HOME", str(home))
    # No background price refresh from tests (tests/test_catalog_refresh.py turns it on).
    monkeypatch.setenv("STIX_CATALOG_REFRESH_HOURS", "0")
    return home


@pytest.fixture
def stix_home(_isolated_home: Path) -> Path:
    return _isolated_home


@pytest.fixture
def write_task(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write YAML text to a task file and return its path."""

    def _write(text: str, name: str = "task.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


# ---- real sshd nodes (tests/sshd_fixtures.py) -----------------------------------------------


@pytest.fixture(scope="session")
def sshd_hosts(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Test users/namespaces/keys for sshd nodes, made once per session and removed after."""
    from sshd_fixtures import make_hosts

    hosts = make_hosts(tmp_path_factory.mktemp("sshd"))
    yield hosts
    hosts.teardown()


@pytest.fixture
def sshd_nodes(sshd_hosts, tmp_path: Path):  # type: ignore[no-untyped-def]
    """`start(n)` → n running sshd nodes (killed, and their homes wiped, after the test)."""
    from contextlib import ExitStack

    from sshd_fixtures import running_nodes

    with ExitStack() as stack:

        def start(n: int):  # type: ignore[no-untyped-def]
            return stack.enter_context(running_nodes(sshd_hosts, n, tmp_path))

        yield start


@pytest.fixture
def stand_in():  # type: ignore[no-untyped-def]
    """A real HTTP server on loopback answering routes a test sets (tests/http_support.py)."""
    from http_support import serving

    server = serving()
    yield server
    server.server.shutdown()
    server.server.server_close()
