"""RunPod infra options (`stix:extra` of a RunPod stack). Pods have no network or firewall
to declare; who may log in is the one option (`ssh_cidrs`, enforced by sshd itself
through the key's `from=` restriction, since RunPod has no firewall)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from stix.clouds.base import InfraOptions, check_cidrs


class RunPodOptions(InfraOptions):
    ssh_cidrs: list[str] | None = Field(None, description="CIDRs allowed to log in over SSH "
                                        "(the key's from= restriction; the task's ports stay "
                                        "open to everyone: RunPod has no firewall)")

    @field_validator("ssh_cidrs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("ssh_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        return check_cidrs(value)
