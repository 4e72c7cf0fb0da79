"""Vast's API failures → stix's failover kinds, as plain data: the cloud object reads them
without importing the dynamic provider (and with it Pulumi), `api.ERRORS` is built from
them. Codes are Vast's `error` values (or the code a message leads with, `api.parse_error`):
an offer gone (`no_such_ask`, HTTP 404/410) or none left at the price, a stale quote
(`invalid_price`) and an instance that never runs are capacity (no interruptible offer
left: spot, which leaves on-demand open); a refused key is credentials, and so is no credit
(`insufficient_credit`): the account's balance is the same in every region, so failover
leaves the cloud as it does for a refused key, where a quota kind would retry Vast in the
next country."""

from __future__ import annotations

from stix.clouds.base import ErrorKind

CODES: tuple[tuple[ErrorKind, str], ...] = (
    ("capacity", r"no_such_ask|no_offers|invalid_price"),
    ("credentials", r"insufficient_credit|insufficient_funds|no_credit|low_balance"),
    ("credentials", r"invalid_user_key|not_authenticated|unauthorized"),
)
STATUSES: tuple[tuple[ErrorKind, int], ...] = (
    ("credentials", 401), ("credentials", 403), ("capacity", 410))
