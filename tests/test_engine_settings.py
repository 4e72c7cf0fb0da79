from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stix.engine.settings import ensure_passphrase, resolve
from stix.errors import TaskError
from stix.user_config import Config, load_config


def test_defaults_are_embedded(stix_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    s = resolve(Config())
    assert s.backend_url == (stix_home / "state").as_uri()
    assert s.passphrase_file == stix_home / "passphrase"
    assert stat.S_IMODE(s.passphrase_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((stix_home / "state").stat().st_mode) == 0o700
    env = s.env()
    assert env["PULUMI_BACKEND_URL"].startswith("file://")
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(stix_home / "passphrase")


def test_passphrase_is_never_overwritten(tmp_path: Path) -> None:
    path = ensure_passphrase(tmp_path / "k" / "passphrase")
    first = path.read_text()
    path.chmod(0o644)
    assert ensure_passphrase(path).read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_team_backend_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STIX_BACKEND_URL", "s3://team-state/stix")
    monkeypatch.setenv("STIX_SECRETS_PROVIDER", "awskms://alias/stix")
    s = resolve(load_config())
    assert s.backend_url == "s3://team-state/stix"
    assert s.secrets_provider == "awskms://alias/stix"
    assert s.passphrase_file is None


def test_config_file(stix_home: Path) -> None:
    (stix_home / "config.yaml").write_text("engine: terraform\nssh_cidr: 10.0.0.0/8\n")
    cfg = load_config()
    assert cfg.engine == "terraform" and cfg.ssh_cidr == ["10.0.0.0/8"]


def test_bad_config_names_file(stix_home: Path) -> None:
    (stix_home / "config.yaml").write_text("engine: chef\n")
    with pytest.raises(TaskError) as info:
        load_config()
    assert "config.yaml" in str(info.value) and "engine" in str(info.value)


def test_dynamic_providers_run_in_stix_own_virtualenv(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dynamic provider's host (stix.clouds.dynamic) imports stix: Pulumi is told to run
    it in the virtualenv this process runs in, unless the user chose one."""
    import sys

    from stix.engine.settings import python_runtime

    monkeypatch.delenv("PULUMI_RUNTIME_VIRTUALENV", raising=False)
    monkeypatch.setattr(sys, "prefix", "/opt/stix-venv")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert python_runtime() == {"PULUMI_RUNTIME_VIRTUALENV": "/opt/stix-venv"}
    assert resolve(load_config()).env()["PULUMI_RUNTIME_VIRTUALENV"] == "/opt/stix-venv"
    monkeypatch.setenv("PULUMI_RUNTIME_VIRTUALENV", "/mine")
    assert python_runtime() == {}
    monkeypatch.delenv("PULUMI_RUNTIME_VIRTUALENV")
    monkeypatch.setattr(sys, "base_prefix", "/opt/stix-venv")  # not in a virtualenv
    assert python_runtime() == {}
