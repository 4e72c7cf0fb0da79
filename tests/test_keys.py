"""The stix key pair on a real disk (each test has its own STIX_HOME), checked by ssh-keygen."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from stix import keys
from stix.keys import KeyFileError, check_public_key, ensure_key_pair, public_key_text

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen is not installed")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_first_use_makes_a_private_0600_pair_in_stix_home(stix_home: Path) -> None:
    pair = ensure_key_pair()
    assert pair.private_path == stix_home / "keys" / "stix_ed25519"
    assert pair.public_path == stix_home / "keys" / "stix_ed25519.pub"
    assert mode(stix_home / "keys") == 0o700
    assert mode(pair.private_path) == 0o600
    assert mode(pair.public_path) == 0o644
    algo, blob, comment = pair.public_key.split(" ")
    assert (algo, comment) == ("ssh-ed25519", "stix") and blob.startswith("AAAAC3NzaC1lZDI1NTE5")
    assert pair.public_path.read_text() == pair.public_key + "\n"
    assert check_public_key(pair.public_key) == pair.public_key
    assert "PRIVATE" not in public_key_text()
    names = sorted(p.name for p in (stix_home / "keys").iterdir())
    assert names == [".lock", "stix_ed25519", "stix_ed25519.pub"]


def test_permissions_hold_under_a_permissive_umask(stix_home: Path) -> None:
    old = os.umask(0)
    try:
        pair = ensure_key_pair()
    finally:
        os.umask(old)
    assert mode(pair.private_path) == 0o600 and mode(stix_home / "keys") == 0o700


@needs_keygen
def test_ssh_keygen_reads_the_pair() -> None:
    pair = ensure_key_pair()
    derived = subprocess.run([SSH_KEYGEN, "-y", "-f", str(pair.private_path)],  # type: ignore[list-item]
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert derived.split()[:2] == pair.public_key.split()[:2]
    listed = subprocess.run([SSH_KEYGEN, "-l", "-f", str(pair.public_path)],  # type: ignore[list-item]
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert listed.startswith("256 SHA256:") and listed.rstrip().endswith("(ED25519)")


def test_idempotent_same_files_untouched() -> None:
    first = ensure_key_pair()
    before = os.stat(first.private_path)
    second = ensure_key_pair()
    after = os.stat(second.private_path)
    assert first == second
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_racing_processes_get_one_pair(stix_home: Path) -> None:
    code = "from stix.keys import public_key_text; print(public_key_text())"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, STIX_HOME=str(stix_home)))
             for _ in range(4)]  # fmt: skip
    outputs = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert outputs == {ensure_key_pair().public_key}
    assert not [p for p in (stix_home / "keys").iterdir() if p.name.endswith(".tmp")]


def test_public_without_private_is_refused_and_left_alone() -> None:
    pair = ensure_key_pair()
    pair.private_path.unlink()
    with pytest.raises(KeyFileError) as info:
        ensure_key_pair()
    message = str(info.value)
    assert str(pair.public_path) in message and str(pair.private_path) in message
    assert "missing" in message and "move" in message
    assert not pair.private_path.exists()
    assert pair.public_path.read_text() == pair.public_key + "\n"


def test_missing_public_half_is_rewritten_from_the_private() -> None:
    pair = ensure_key_pair()
    pair.public_path.unlink()
    again = ensure_key_pair()
    assert again.public_key == pair.public_key
    assert again.public_path.read_text() == pair.public_key + "\n"


def test_private_key_open_to_others_is_refused() -> None:
    pair = ensure_key_pair()
    pair.private_path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable or writable by other users") as info:
        ensure_key_pair()
    assert f"chmod 600 {pair.private_path}" in str(info.value)


def test_keys_folder_open_to_others_is_refused(stix_home: Path) -> None:
    ensure_key_pair()
    (stix_home / "keys").chmod(0o755)
    with pytest.raises(KeyFileError, match="open to other users") as info:
        ensure_key_pair()
    assert "chmod 700" in str(info.value)


def test_damaged_private_key_is_a_clear_error() -> None:
    pair = ensure_key_pair()
    text = pair.private_path.read_bytes()
    pair.private_path.write_bytes(text[: len(text) // 2])
    with pytest.raises(KeyFileError, match="is not a usable private key") as info:
        ensure_key_pair()
    assert str(pair.private_path) in str(info.value)


def test_private_key_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    pair = ensure_key_pair()
    target = tmp_path / "elsewhere"
    pair.private_path.rename(target)
    pair.private_path.symlink_to(target)
    with pytest.raises(KeyFileError, match="should be a regular file"):
        ensure_key_pair()


def test_public_key_of_another_pair_is_refused() -> None:
    import asyncssh

    pair = ensure_key_pair()
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh")
    pair.public_path.write_bytes(other)
    with pytest.raises(KeyFileError, match="does not belong to the private key"):
        ensure_key_pair()


def test_key_of_another_type_is_refused() -> None:
    import asyncssh

    keys_dir = keys.keys_dir()
    ensure_key_pair()
    key = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
    (keys_dir / "stix_ed25519").write_bytes(key.export_private_key("openssh"))
    (keys_dir / "stix_ed25519.pub").unlink()
    with pytest.raises(KeyFileError, match="stix expects ed25519"):
        ensure_key_pair()


@needs_keygen
def test_passphrase_protected_key_is_a_clear_error() -> None:
    keys_dir = keys.keys_dir()
    ensure_key_pair()
    for name in ("stix_ed25519", "stix_ed25519.pub"):
        (keys_dir / name).unlink()
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "secret", "-f",  # type: ignore[list-item]
                    str(keys_dir / "stix_ed25519")], check=True)  # fmt: skip
    with pytest.raises(KeyFileError, match="protected by a passphrase"):
        ensure_key_pair()


@pytest.mark.parametrize(("text", "message"), [
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----",
     "not one public key line"),
    ("ssh-ed25519 AAAA\nssh-ed25519 AAAA", "not one public key line"),
    ("hello world", "not an OpenSSH public key"),
    ("ssh-ed25519 !!!notbase64", "bad base64"),
    ("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHU+tC5fgnrZedA/vSvUIgaLSjFrvYiVE5JqNQOHsvnv",
     "type mismatch"),
])  # fmt: skip
def test_check_public_key_refuses_anything_but_one_public_line(text: str, message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        check_public_key(text)


def test_importing_keys_does_not_import_asyncssh() -> None:
    code = "import sys, stix.keys; print('asyncssh' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.sshd
@needs_keygen
def test_the_pair_logs_in_to_a_real_sshd(tmp_path: Path) -> None:
    """OpenSSH's own client and server accept the pair (the client also checks the 0600)."""
    import getpass
    import socket
    import time

    sshd, ssh = shutil.which("sshd") or "/usr/sbin/sshd", shutil.which("ssh")
    if not Path(sshd).is_file() or ssh is None:
        pytest.skip("openssh-server / openssh-client are not installed (.ci/install installs them)")
    pair = ensure_key_pair()
    host_key = tmp_path / "host_key"
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],  # type: ignore[list-item]
                   check=True)  # fmt: skip
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(pair.public_path.read_text())
    authorized.chmod(0o600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}",
        f"AuthorizedKeysFile {authorized}", f"PidFile {tmp_path / 'sshd.pid'}",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
        "StrictModes no", "PermitRootLogin prohibit-password", ""]))  # fmt: skip
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    server = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    try:
        argv = [ssh, "-i", str(pair.private_path), "-p", str(port), "-o", "BatchMode=yes",
                "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
                "-o", f"UserKnownHostsFile={tmp_path / 'known_hosts'}",
                f"{getpass.getuser()}@127.0.0.1", "echo", "stix-key-ok"]  # fmt: skip
        for _ in range(100):  # until sshd listens (usually the first try)
            result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            if "Connection refused" not in result.stderr:
                break
            time.sleep(0.05)
        assert result.stdout.strip() == "stix-key-ok", result.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_unusable_stix_home_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("STIX_HOME", str(blocker / "home"))
    with pytest.raises(KeyFileError, match="cannot keep stix's SSH keys in") as info:
        ensure_key_pair()
    assert str(blocker) in str(info.value)
