"""Credential checks of aws, gcp, azure and kubernetes: env vars and config files in a home
of our making (no network), and `verify` against real servers where they run here
(moto_server for AWS STS; kubectl against a loopback HTTP server for Kubernetes)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from stix.clouds import registry as providers
from stix.clouds.base import CredentialStatus

_PREFIXES = ("AWS_", "GOOGLE_", "CLOUDSDK_", "GCLOUD_", "AZURE_", "KUBE", "IDENTITY_", "MSI_")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith(_PREFIXES):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # boto3: never ask an IMDS
    return home


def check(cloud: str, verify: bool = False) -> CredentialStatus:
    return providers.get(cloud).check_credentials(verify)


def test_registered() -> None:
    assert {"aws", "gcp", "azure", "kubernetes"} <= set(providers.names())
    for name in ("aws", "gcp", "azure", "kubernetes"):
        provider = providers.get(name)
        assert provider.name == name and provider.capabilities.provisions
        # Kubernetes sizes pods to the request instead of listing catalog machines.
        assert provider.capabilities.uses_catalog == (name != "kubernetes")


def test_nothing_found_says_how_to_fix() -> None:
    for cloud, detail, hint in [
        ("aws", "no AWS credentials found", "aws configure"),
        ("gcp", "no GCP credentials found", "gcloud auth application-default login"),
        ("azure", "no Azure credentials found", "az login"),
        ("kubernetes", "no kubeconfig context found", "KUBECONFIG"),
    ]:
        status = check(cloud)
        assert (status.cloud, status.ok, status.detail) == (cloud, False, detail)
        assert hint in (status.hint or "")


# ---- AWS ----------------------------------------------------------------------------------


def test_aws_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    status = check("aws")
    assert status.ok and status.sources == ["env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"]
    assert "very-secret" not in repr(status) and "AKIDEXAMPLE" not in repr(status)


def test_aws_half_env_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    status = check("aws")
    assert not status.ok
    assert status.detail == "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set"


def test_aws_shared_files_and_profiles(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aws = clean / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text("[default]\naws_access_key_id = AKID\n"
                                     "aws_secret_access_key = x\n")  # fmt: skip
    (aws / "config").write_text("[profile dev]\nsso_session = corp\nregion = eu-west-1\n"
                                "[profile ops]\nregion = us-east-1\n")  # fmt: skip
    status = check("aws")
    assert status.ok and status.sources == [f"{aws / 'credentials'} [default] (access key)"]
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert check("aws").sources == [f"{aws / 'config'} [profile dev] (SSO)"]
    monkeypatch.setenv("AWS_PROFILE", "ops")  # a profile with no credential settings
    status = check("aws")
    assert not status.ok
    assert "profile 'ops' (AWS_PROFILE) is not in the shared config files" in status.detail
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(clean / "elsewhere"))
    (clean / "elsewhere").write_text("[profile dev]\ncredential_process = /bin/creds\n")
    assert check("aws").sources == [f"{clean / 'elsewhere'} [profile dev] (credential_process)"]


def test_aws_unparsable_file(clean: Path) -> None:
    (clean / ".aws").mkdir()
    (clean / ".aws" / "credentials").write_text("aws_access_key_id = no section header\n")
    status = check("aws")
    assert not status.ok and "cannot be parsed (MissingSectionHeaderError)" in status.detail


def test_aws_web_identity_and_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/x")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds")
    assert check("aws").sources == ["env AWS_WEB_IDENTITY_TOKEN_FILE (web identity)",
                                     "container credentials endpoint"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_sts() -> Iterator[str]:
    """A real moto_server (AWS API emulator) on loopback."""
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(exe).exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_aws_verify_against_moto(moto_sts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_sts)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    status = check("aws", verify=True)
    assert status.ok, status.detail
    assert status.detail.startswith("account 123456789012 as arn:aws:")
    assert status.sources == ["STS GetCallerIdentity"]


@pytest.mark.slow
def test_aws_verify_without_credentials(moto_sts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_sts)
    status = check("aws", verify=True)
    assert (status.ok, status.detail) == (False, "boto3 found no credentials")


def test_aws_verify_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    status = check("aws", verify=True)
    assert not status.ok and status.detail.startswith("cannot reach STS: ")


# ---- GCP ----------------------------------------------------------------------------------


def test_gcp_key_file_and_project(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = clean / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "project_id": "proj-a",
                               "private_key": "-----BEGIN PRIVATE KEY-----"}))  # fmt: skip
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    status = check("gcp")
    assert status.ok and status.detail == f"credentials from GOOGLE_APPLICATION_CREDENTIALS " \
        f"({key}); project proj-a"
    assert "PRIVATE" not in repr(status)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj-b")
    assert check("gcp").detail.endswith("project proj-b")


def test_gcp_missing_key_file(monkeypatch: pytest.MonkeyPatch, clean: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(clean / "nope.json"))
    status = check("gcp")
    assert not status.ok and "which is not a file" in status.detail


def test_gcp_gcloud_login_and_config_project(clean: Path) -> None:
    gcloud = clean / ".config" / "gcloud"
    (gcloud / "configurations").mkdir(parents=True)
    (gcloud / "credentials.db").write_bytes(b"")
    (gcloud / "active_config").write_text("work")
    (gcloud / "configurations" / "config_work").write_text("[core]\nproject = proj-w\n")
    status = check("gcp")
    assert status.ok and status.detail == f"credentials from gcloud auth login ({gcloud}); " \
        "project proj-w"


def test_gcp_adc_without_project(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(clean / "gc"))
    (clean / "gc").mkdir()
    (clean / "gc" / "application_default_credentials.json").write_text('{"type": "x"}')
    status = check("gcp")
    assert status.ok and status.detail.endswith("project not set")
    assert "set GOOGLE_CLOUD_PROJECT" in (status.hint or "")


def test_gcp_verify_needs_google_auth() -> None:
    try:
        import google.auth  # noqa: F401
    except ImportError:
        status = check("gcp", verify=True)
        assert not status.ok and "verifying needs google-auth" in status.detail
        assert status.hint == "pip install google-auth requests"
    else:
        pytest.skip("google-auth is installed: this checks the message when it is not")


# ---- Azure --------------------------------------------------------------------------------


def test_azure_service_principal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "cid")
    monkeypatch.setenv("AZURE_TENANT_ID", "tid")
    status = check("azure")
    assert not status.ok and "none of AZURE_CLIENT_SECRET" in status.detail
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "hush")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-1")
    status = check("azure")
    assert status.ok and status.detail == ("credentials from service principal (env "
                                           "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET); "
                                           "subscription sub-1")  # fmt: skip
    assert "hush" not in repr(status)


def test_azure_cli_profile_with_bom(clean: Path) -> None:
    (clean / ".azure").mkdir()
    profile = {"subscriptions": [{"id": "s-other", "isDefault": False},
                                 {"id": "s-main", "isDefault": True}]}  # fmt: skip
    (clean / ".azure" / "azureProfile.json").write_text("\ufeff" + json.dumps(profile),
                                                        encoding="utf-8")  # fmt: skip
    status = check("azure")
    assert status.ok and status.detail.endswith("subscription s-main")
    assert "2 subscriptions" in status.detail


def test_azure_broken_profile(clean: Path) -> None:
    (clean / ".azure").mkdir()
    (clean / ".azure" / "azureProfile.json").write_text("{not json")
    status = check("azure")
    assert not status.ok and "cannot be read (JSONDecodeError)" in status.detail


def test_azure_verify_needs_azure_identity() -> None:
    try:
        import azure.identity  # noqa: F401
    except ImportError:
        status = check("azure", verify=True)
        assert not status.ok and status.hint == "pip install azure-identity"
    else:
        pytest.skip("azure-identity is installed: this checks the message when it is not")


# ---- Kubernetes ---------------------------------------------------------------------------


def _kubeconfig(path: Path, server: str, contexts: list[str], current: str | None) -> Path:
    import yaml

    data = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t0ken"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
        "current-context": current or "",
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return path


def test_kubeconfig_contexts(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean / ".kube").mkdir()
    _kubeconfig(clean / ".kube" / "config", "https://k:6443", ["dev", "prod"], "dev")
    status = check("kubernetes")
    assert status.ok and status.detail == "2 context(s), current dev"
    assert "t0ken" not in repr(status)
    other = _kubeconfig(clean / "other", "https://k:6443", ["gpu"], None)
    broken = clean / "broken"
    broken.write_text("contexts: [unclosed\n")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(other), str(broken)]))
    status = check("kubernetes")
    assert status.ok and status.detail == "1 context(s), current not set"
    assert "cannot be read (ParserError)" in (status.hint or "")


class _Version(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"major": "1", "minor": "30", "gitVersion": "v1.30.0"}).encode()
        self.send_response(200 if self.path.startswith("/version") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubernetes_verify_with_kubectl(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real kubectl against a loopback HTTP server that answers only /version (a stand-in
    for an API server: it checks how stix runs kubectl and reads its answer)."""
    try:
        import kubernetes  # noqa: F401
        pytest.skip("the kubernetes client is installed: verify would use it, not kubectl")
    except ImportError:
        pass
    server = HTTPServer(("127.0.0.1", 0), _Version)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        cfg = _kubeconfig(clean / "kc", f"http://127.0.0.1:{server.server_port}", ["lab"], "lab")
        monkeypatch.setenv("KUBECONFIG", str(cfg))
        status = check("kubernetes", verify=True)
        assert status.ok, status.detail
        assert status.detail == "API server answered kubectl version"
    finally:
        server.shutdown()
        server.server_close()
    cfg = _kubeconfig(clean / "kc2", f"http://127.0.0.1:{_free_port()}", ["lab"], "lab")
    monkeypatch.setenv("KUBECONFIG", str(cfg))
    status = check("kubernetes", verify=True)
    assert not status.ok and status.detail.startswith("cluster not reachable: ")
