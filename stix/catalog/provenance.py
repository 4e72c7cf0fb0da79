"""How old and how sourced the prices behind a decision are, in words for every output.

`as_of` is an ISO date (or month, or date-time); its age is counted from the start of that
day (a month: its first day), so "observed 2026-05-12" read on 2026-05-14 is 2 days old.
"""

from __future__ import annotations

from datetime import datetime, timezone

from stix.catalog.schema import ESTIMATED, OBSERVED


def parse_as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    for fmt_len, pad in ((7, "-01"), (10, "")):
        if len(value) == fmt_len:
            value += pad
            break
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def age(text: str | None, now: datetime | None = None) -> str:
    """'3 hours old', '2 days old', '6 months old' ('' when unknown)."""
    when = parse_as_of(text)
    if when is None:
        return ""
    hours = ((now or datetime.now(timezone.utc)) - when).total_seconds() / 3600
    if hours < 0:
        return "dated in the future"
    if hours < 48:
        return f"{hours:.0f} hours old"
    days = hours / 24
    return f"{days:.0f} days old" if days < 60 else f"{days / 30.4:.0f} months old"


def describe(source: str | None, as_of: str | None, now: datetime | None = None) -> str:
    """'observed 2026-05-12 (2 days old)', 'estimated (2026-11 snapshot, ...)'."""
    if source is None:
        return "price of unknown origin"
    when = f" {as_of}" if as_of else ""
    old = age(as_of, now)
    return f"{source}{when}" + (f" ({old})" if old else "")


def estimate_warning(source: str | None, spot: bool) -> str | None:
    """The plain sentence every output carries when a decision rests on an estimate."""
    if source == OBSERVED:
        return None
    market = "spot price" if spot else "on-demand price"
    what = "estimated" if source == ESTIMATED else "of unknown origin"
    return (f"the chosen {market} is {what}, not read from the cloud's price source "
            "(catalog_data/README.md says how it was estimated); `stix catalog update` reads "
            "observed prices")


def placement_price(cloud: str, source: str | None, as_of: str | None,
                    spot: bool) -> tuple[str | None, str | None]:
    """(basis, warning) for a placement's price; (None, None) for providers not priced
    from the catalog (existing machines, pods), which have no price to source."""
    from stix.clouds import registry

    if registry.served(cloud) and not registry.get(cloud).capabilities.uses_catalog:
        return None, None
    return describe(source, as_of), estimate_warning(source, spot)
