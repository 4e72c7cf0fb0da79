"""Where the server keeps its database, token and files, and the knobs of its controller.

Read from `~/.stix/config.yaml` (`server:` mapping) and STIX_SERVER_* variables; the
defaults suit one person's machine (SQLite under ~/.stix/server)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from stix.paths import stix_home


def server_home() -> Path:
    return Path(os.environ.get("STIX_SERVER_HOME") or stix_home() / "server")


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="a running server the CLI talks to (default: "
                            "a local one, started on demand)")
    db_url: str | None = Field(None, description="SQLAlchemy URL of the server's database "
                               "(default sqlite under ~/.stix/server; postgresql+psycopg://… "
                               "for a team)")
    host: str = Field("127.0.0.1", description="where a started server listens")
    port: int = Field(0, ge=0, le=65535, description="0: any free port (written to "
                      "~/.stix/server/server.json)")
    max_concurrent_launches: int = Field(8, ge=1, le=256, description="clusters the "
                                         "controller provisions at once")
    probe_seconds: float = Field(5.0, gt=0, description="how often a running job's nodes "
                                 "are asked how they are")
    confirm_loss_seconds: float = Field(20.0, gt=0, description="how long nodes must stay "
                                        "unreachable before they count as lost (a cloud "
                                        "that says its instance is gone confirms at once)")
    provision_retry_minutes: float = Field(30.0, ge=0, description="how long a job whose "
                                           "cluster cannot be provisioned anywhere keeps "
                                           "trying before it fails")

    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{server_home() / 'server.db'}"


_ENV = {"STIX_SERVER_URL": "url", "STIX_SERVER_DB": "db_url",
        "STIX_SERVER_HOST": "host", "STIX_SERVER_PORT": "port",
        "STIX_SERVER_PROBE_SECONDS": "probe_seconds",
        "STIX_SERVER_CONFIRM_LOSS_SECONDS": "confirm_loss_seconds",
        "STIX_SERVER_PROVISION_RETRY_MINUTES": "provision_retry_minutes",
        "STIX_SERVER_MAX_CONCURRENT_LAUNCHES": "max_concurrent_launches"}


def load_settings() -> ServerSettings:
    from stix.user_config import load_config

    configured = load_config().server
    data = configured.model_dump(exclude_unset=True) if configured is not None else {}
    for env, key in _ENV.items():
        if os.environ.get(env):
            data[key] = os.environ[env]
    return ServerSettings.model_validate(data)
