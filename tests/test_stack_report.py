"""The plan report says where the new $/h came from, and warns when it is an estimate."""

from __future__ import annotations

from stix.catalog.provenance import age, describe, estimate_warning, placement_price
from stix.stack import report
from stix.stack.diff import StackDiff


def _diff(source: str | None, spot: bool = False) -> StackDiff:
    diff = StackDiff("c", [], 0.5, 0.5)
    diff.price_basis, diff.price_warning = placement_price("aws", source, "2026-05-12", spot)
    return diff


def test_text_and_markdown_carry_the_price_basis_and_warning() -> None:
    estimated = _diff("estimated", spot=True)
    text = report.text(estimated, "stack c")
    assert "cost: $0.50/h → $0.50/h (±$0.00/h); price estimated 2026-05-12" in text
    assert "note: the chosen spot price is estimated" in text
    md = report.markdown(estimated, "stack c")
    assert "> ⚠ the chosen spot price is estimated" in md
    observed = _diff("observed")
    assert observed.price_warning is None
    assert "⚠" not in report.markdown(observed, "stack c")
    assert observed.to_dict()["price_basis"].startswith("observed 2026-05-12")


def test_pods_and_existing_machines_have_no_price_to_source() -> None:
    assert placement_price("kubernetes", None, None, False) == (None, None)
    assert placement_price("local", None, None, False) == (None, None)


def test_ages_and_descriptions() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 5, 14, tzinfo=timezone.utc)
    assert age("2026-05-12", now) == "2 days old"
    assert age("2026-05-13T18:00:00Z", now) == "6 hours old"
    assert age("2026-01", now) == "4 months old"
    assert age("garbage", now) == ""
    assert describe("observed", "2026-05-13T18:00:00Z", now) == (
        "observed 2026-05-13T18:00:00Z (6 hours old)")
    assert describe(None, None) == "price of unknown origin"
    assert estimate_warning("observed", False) is None
    assert "of unknown origin" in (estimate_warning(None, False) or "")
