"""Signed calls to OCI's REST API with the user's API key, as OCI documents request
signing ("Request Signatures": draft-cavage HTTP signatures, rsa-sha256 over `date`,
`(request-target)` and `host`, keyId `<tenancy>/<user>/<fingerprint>`).

Only reads are made here (GET), so no body headers are signed. The endpoint is a
parameter, so the calls can be exercised against a real HTTP server on loopback; the key
is read with `cryptography`, imported only here.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from stix.errors import StixError

TIMEOUT = 30.0
API_VERSION = "20160918"
MAX_PAGES = 200


class OciApiError(StixError):
    """An OCI API call that failed (the message names the call, status and OCI's code)."""

    def __init__(self, message: str, status: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key: Any  # cryptography's RSAPrivateKey

    def headers(self, method: str, url: str, now: str | None = None) -> dict[str, str]:
        """The signed headers of a body-less request."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        date = now or email.utils.formatdate(usegmt=True)
        signed = {"date": date, "(request-target)": f"{method.lower()} {target}",
                  "host": parts.netloc}
        text = "\n".join(f"{k}: {v}" for k, v in signed.items())
        signature = base64.b64encode(self.private_key.sign(
            text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
        auth = (f'Signature version="1",keyId="{self.key_id}",algorithm="rsa-sha256",'
                f'headers="{" ".join(signed)}",signature="{signature}"')
        return {"date": date, "host": parts.netloc, "authorization": auth,
                "accept": "application/json"}


def signer_from_config() -> Signer:
    """The signer of the configured profile (`stix.clouds.oci.credentials`)."""
    from stix.clouds.oci.credentials import HINT, read_profile

    profile = read_profile()
    missing = [k for k in ("user", "fingerprint", "key_file", "tenancy")
               if k not in profile.fields]
    if missing or profile.problems:
        raise StixError("OCI credentials: " + "; ".join(
            ([f"profile {profile.name} lacks {', '.join(missing)}"] if missing else [])
            + profile.problems), hint=HINT)
    f = profile.fields
    return load_signer(f["tenancy"], f["user"], f["fingerprint"],
                       os.path.expanduser(f["key_file"]), profile.passphrase)


def load_signer(tenancy: str, user: str, fingerprint: str, key_file: str,
                passphrase: str | None = None) -> Signer:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        with open(key_file, "rb") as fh:
            key = load_pem_private_key(fh.read(), passphrase.encode() if passphrase else None)
    except (OSError, ValueError, TypeError) as exc:
        raise StixError(f"OCI key_file {key_file}: cannot be read as a PEM private key "
                        f"({type(exc).__name__})") from None
    return Signer(f"{tenancy}/{user}/{fingerprint}", key)


def endpoint(region: str) -> str:
    return f"https://iaas.{region}.oraclecloud.com"


def get(signer: Signer, url: str, what: str) -> tuple[Any, dict[str, str]]:
    """(decoded JSON, response headers) of a signed GET; failures raise OciApiError."""
    request = urllib.request.Request(url, method="GET", headers=signer.headers("GET", url))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            text = reply.read().decode("utf-8")
            return (json.loads(text) if text.strip() else None), dict(reply.headers)
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")[:500]
        try:
            detail = json.loads(body)
            said = f"{detail.get('code')}: {detail.get('message')}"
        except (ValueError, AttributeError):
            said = body
        raise OciApiError(f"{what}: HTTP {exc.code} {said}".strip(), exc.code) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise OciApiError(f"{what}: {exc}") from None


def list_all(signer: Signer, base: str, path: str, params: dict[str, str],
             what: str) -> list[dict[str, Any]]:
    """Every item of a list call, following `opc-next-page`."""
    out: list[dict[str, Any]] = []
    page: str | None = None
    for _ in range(MAX_PAGES):
        query = {**params, **({"page": page} if page else {})}
        url = f"{base}/{API_VERSION}/{path}?{urllib.parse.urlencode(query)}"
        data, headers = get(signer, url, what)
        out.extend(i for i in data or [] if isinstance(i, dict))
        page = {k.lower(): v for k, v in headers.items()}.get("opc-next-page")
        if not page:
            return out
    raise OciApiError(f"{what}: more than {MAX_PAGES} pages; giving up")
