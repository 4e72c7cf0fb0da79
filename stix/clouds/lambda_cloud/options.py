"""Lambda infra options (`stix:extra` of a Lambda stack). Lambda has no networks to
declare (every instance gets a public IPv4 address), so only who may connect is an
option."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from stix.clouds.base import InfraOptions, check_cidrs


class LambdaOptions(InfraOptions):
    ssh_cidrs: list[str] | None = Field(None, description="CIDRs allowed to reach SSH and "
                                        "the task's ports (the cluster's firewall ruleset)")

    @field_validator("ssh_cidrs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("ssh_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        return check_cidrs(value)
