"""Vast infra options (`stix:extra` of a Vast stack). Vast has no networks or firewalls to
declare; what a stack can set is who may log in, how much an hour may cost, and whether
only verified or datacenter hosts are rented."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from stix.clouds.base import InfraOptions, check_cidrs


class VastOptions(InfraOptions):
    ssh_cidrs: list[str] | None = Field(
        None, description="CIDRs allowed to log in over SSH (sshd inside the instance "
        "refuses the others; Vast has no firewall, so the task's ports stay open to all)")
    max_price: float | None = Field(
        None, gt=0, description="USD per hour the rented offer may cost at most (default: "
        "the catalog's price plus a margin, as the market moves); for interruptible "
        "instances, the highest bid")
    datacenter: bool | None = Field(
        None, description="rent only offers in Vast's datacenter (secure cloud) tier")
    verified: bool | None = Field(
        None, description="rent only hosts Vast has verified (default true)")

    @field_validator("ssh_cidrs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("ssh_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        return check_cidrs(value)
