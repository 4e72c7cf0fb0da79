"""What a host, a login name and a host-key alias may be, wherever stix writes one.

These values reach `ssh`/`rsync` argv, the generated ssh config and asyncssh. A value that
starts with `-` becomes an option, a newline or `%`/`${` in a config line becomes another
option or an expansion; so the rules are narrow and every refusal says which rule. Callers
name the field and the file (`ValueError` text is made for that).
"""

from __future__ import annotations

import ipaddress
import re

MAX_HOST = 253
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_USER = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._@-]{0,63}")
_ALIAS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")


def check_host(host: str) -> str:
    """An IP address or a DNS name whose every label encodes (IDNA) and fits 63 bytes."""
    text = host.strip()
    if text != host or not text:
        raise ValueError(f"host {host!r} is empty or has surrounding blanks")
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"host {_short(host)} is not a valid host name ({exc})") from None
    labels = ascii_name.removesuffix(".").split(".")
    if len(ascii_name) > MAX_HOST:
        raise ValueError(f"host {_short(host)} is longer than {MAX_HOST} characters")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise ValueError(f"host {_short(host)} is not a valid host name (label "
                             f"{_short(label)}: letters, digits, '-' and '_', at most 63, "
                             "not starting or ending with '-')")
    return text


def check_user(user: str) -> str:
    """A login name: letters, digits, `.`, `_`, `-`, `@`; not starting with `-` or `@`."""
    if not _USER.fullmatch(user):
        raise ValueError(f"user {_short(user)} is not a usable login name (letters, digits, "
                         "'.', '_', '-' and '@', at most 64, not starting with '-' or '@')")
    return user


def check_proxy_command(command: str) -> str:
    """A ProxyCommand from the user's own config (trusted like ~/.ssh/config): one line, so
    it cannot add options to the ssh config it is written into."""
    if not command.strip() or any(c in command for c in "\n\r\0") or len(command) > 2000:
        raise ValueError(f"ssh_proxy_command {_short(command)} must be one non-empty line")
    return command


def check_alias(alias: str) -> str:
    """A Host pattern / HostKeyAlias stix writes: no pattern characters (`*?!,`) or blanks."""
    if not _ALIAS.fullmatch(alias):
        raise ValueError(f"name {_short(alias)} is not usable as an ssh host alias (letters, "
                         "digits, '.', '_' and '-', not starting with '.' or '-')")
    return alias


def check_path(path: str) -> str:
    """A local file path for ssh (identity, known hosts): absolute, one line, and free of
    `${` (ssh expands environment variables there and has no escape for them)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise ValueError(f"path {_short(path)} holds a newline or control character")
    if "${" in path:
        raise ValueError(f"path {_short(path)} holds '${{', which ssh would expand")
    if not path.startswith("/"):
        raise ValueError(f"path {_short(path)} is not absolute")
    return path


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
