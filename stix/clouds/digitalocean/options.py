"""DigitalOcean infra options (`stix:extra` of a DigitalOcean stack)."""

from __future__ import annotations

from pydantic import Field

from stix.clouds.base import NetworkOptions


class DigitalOceanOptions(NetworkOptions):
    vpc_uuid: str | None = Field(None, description="an existing VPC's id (default: a VPC "
                                 "the stack owns)")
    ssh_key: str | None = Field(None, description="the id or fingerprint of an SSH key "
                                "already in the account, instead of one the stack owns: "
                                "DigitalOcean refuses a second copy of a public key (\"SSH "
                                "Key is already in use on your account\"), so a second "
                                "cluster at the same time names the first one's key here "
                                "(`ssh-keygen -l -E md5 -f ~/.stix/keys/stix_ed25519.pub` "
                                "prints its fingerprint after MD5:)")
