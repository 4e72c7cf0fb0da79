"""Nothing private leaves the machine by accident: credential stores and private keys are
left out of synced trees (with a message), refused as sources, and sent only when the task
names the exact path as a file_mount source and the user passes --allow-private-mounts.
End to end on the `local` provider through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stix.remote import private, sync
from stix.remote.private import PrivateSourceError

PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA=\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with every credential store stix knows of, and a project in it."""
    home = tmp_path / "home"
    stores = {".ssh/id_ed25519": PEM, ".aws/credentials": "[default]\naws_secret_access_key=x\n",
              ".config/gcloud/application_default_credentials.json": "{}",
              ".azure/msal_token_cache.json": "{}", ".kube/config": "apiVersion: v1\n",
              ".docker/config.json": '{"auths": {}}', ".docker/other.txt": "fine",
              ".stix/keys/stix_ed25519": PEM, ".netrc": "machine x password y\n"}
    for rel, text in stores.items():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(text)
    project = home / "project"
    (project / "secrets").mkdir(parents=True)
    (project / "train.py").write_text("print()\n")
    (project / "secrets" / "deploy.pem").write_text("notes\n" + PEM.replace("OPENSSH ", "RSA "))
    (project / "secrets" / "notes.txt").write_text("no keys here\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("STIX_HOME", str(home / ".stix"))
    for var in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "KUBECONFIG",
                "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "AZURE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    return home


def test_stores_and_keys_met_in_a_tree_stay_here(home: Path) -> None:
    found = sync.collect(home)
    assert ".docker/other.txt" in found.files and "project/train.py" in found.files
    assert dict(found.private) == {
        ".aws/": "a credential store", ".azure/": "a credential store",
        ".config/gcloud/": "a credential store", ".docker/config.json": "a credential store",
        ".kube/": "a credential store", ".netrc": "a credential store",
        ".ssh/": "a credential store", ".stix/": "a credential store",
        "project/secrets/deploy.pem": "holds a private key"}
    assert set(dict(found.private)) <= set(found.excluded)  # rsync skips them too
    assert not any(f.startswith((".ssh", ".aws", ".stix")) for f in found.files)


def test_moved_stores_are_found_through_the_environment(home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    creds = home / "project" / "aws-creds"
    creds.write_text("[default]\n")
    kube = home / "project" / "kubeconfig"
    kube.write_text("apiVersion: v1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("KUBECONFIG", f"/nonexistent:{kube}")
    found = sync.collect(home / "project")
    assert {"aws-creds", "kubeconfig"} <= set(dict(found.private))


def test_a_private_source_is_refused_unless_named_and_confirmed(home: Path) -> None:
    with pytest.raises(PrivateSourceError, match="is your home directory") as err:
        sync.check_sources(home, {})
    assert "workdir" in err.value.message
    with pytest.raises(PrivateSourceError, match="home directory"):
        sync.check_sources(Path("/"), {})
    with pytest.raises(PrivateSourceError, match="is a credential store") as err:
        sync.check_sources(home / ".ssh", {})
    assert "name the exact path as a file_mount source" in str(err.value.hint)
    key = str(home / ".ssh" / "id_ed25519")
    with pytest.raises(PrivateSourceError, match="lies in the credential store") as err:
        sync.check_sources(None, {"~/.ssh/id_ed25519": key})
    assert "file_mounts: ~/.ssh/id_ed25519" in err.value.message
    assert private.ALLOW_FLAG in str(err.value.hint)
    pem = str(home / "project" / "secrets" / "deploy.pem")
    with pytest.raises(PrivateSourceError, match="holds a private key"):
        sync.check_sources(None, {"/etc/deploy.pem": pem})
    assert sync.check_sources(None, {"~/.ssh/id_ed25519": key, "/etc/deploy.pem": pem,
                                     "/data": str(home / "project")},
                              allow_private=True) == {"~/.ssh/id_ed25519", "/etc/deploy.pem"}
    with pytest.raises(PrivateSourceError, match="home directory"):  # even when confirmed
        sync.check_sources(None, {"/h": str(home)}, allow_private=True)
    assert sync.check_sources(home / "project", {}) == set()


def _stix(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, text=True,
                          capture_output=True, env=dict(os.environ), timeout=120)


def test_up_sends_a_key_only_when_named_and_confirmed(home: Path) -> None:
    project = home / "project"
    task = project / "task.yaml"
    task.write_text("name: keys\nworkdir: .\nresources:\n  infra: local\n"
                    "file_mounts:\n  ~/.ssh/id_ed25519: ~/.ssh/id_ed25519\n"
                    "run: ls secrets\n")
    refused = _stix("up", str(task), cwd=project)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "file_mounts: ~/.ssh/id_ed25519" in refused.stderr
    assert "--allow-private-mounts" in refused.stderr
    assert not (home / ".stix" / "local" / "keys").exists()  # refused before anything
    assert "keys" not in _stix("status", cwd=project).stdout

    up = _stix("up", str(task), "--allow-private-mounts", cwd=project)
    assert up.returncode == 0, up.stderr
    assert up.stdout.splitlines() == ["notes.txt"]
    assert "secrets/deploy.pem (holds a private key)" in up.stderr  # said, and left out
    node = home / ".stix" / "local" / "keys" / "node-0"
    assert not list(node.rglob("deploy.pem"))
    assert (node / ".ssh" / "id_ed25519").read_text() == PEM  # named and confirmed: sent
    assert (node / ".ssh" / "id_ed25519").stat().st_mode & 0o077 == 0
    assert _stix("down", "keys", "--yes", cwd=project).returncode == 0


def test_workdir_home_is_a_clear_error(home: Path) -> None:
    task = home / "project" / "home.yaml"
    task.write_text('workdir: "~"\nresources:\n  infra: local\nrun: ls\n')  # ~ bare is null
    up = _stix("up", str(task), cwd=home / "project")
    assert up.returncode != 0 and "Traceback" not in up.stderr
    assert "workdir" in up.stderr and "home directory" in up.stderr
