"""A stack diff for people: terminal text, and Markdown for a pull-request comment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stix.stack.diff import Change, StackDiff

if TYPE_CHECKING:
    from stix.stack.exposure import Finding

SYMBOL = {"create": "+", "update": "~", "replace": "±", "delete": "-"}
_MAX_VALUE = 90


def show_value(value: Any) -> str:
    """One short line: references as `<type::name.attr>`, long values cut."""
    if isinstance(value, dict) and "$ref" in value:
        text = f"<{value['$ref']}.{value.get('attr', 'id')}>"
    elif isinstance(value, dict) and "$data" in value:
        text = f"<lookup {value['$data'].split('::')[0]}.{value.get('attr')}>"
    elif isinstance(value, dict) and "$concat" in value:
        text = "".join(p if isinstance(p, str) else show_value(p) for p in value["$concat"])
        text = json.dumps(text, ensure_ascii=False)
    elif value is None:
        text = "(none)"
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}/h"


def cost_line(diff: StackDiff) -> str:
    delta = diff.hourly_delta
    sign = "+" if delta > 0 else ("-" if delta < 0 else "±")
    basis = f"; price {diff.price_basis}" if diff.price_basis else ""
    return (f"{money(diff.hourly_before)} → {money(diff.hourly_after)} "
            f"({sign}${abs(delta):,.2f}/h){basis}")  # fmt: skip


def summary_line(diff: StackDiff) -> str:
    parts = [f"{diff.count(a)} to {a}" for a in ("create", "update", "replace", "delete")]
    return ", ".join(parts) + f", {diff.unchanged} unchanged"


def _change_text(before: Any, after: Any) -> str:
    """`old → new`; for multi-line text (user-data) the first line that differs."""
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        old, new = before.splitlines(), after.splitlines()
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else None
            b = new[i] if i < len(new) else None
            if a != b:
                return (f"line {i + 1} of {len(new)}: {show_value(a)} → {show_value(b)}"
                        f"{' (and more)' if old[i + 1:] != new[i + 1:] else ''}")
    return f"{show_value(before)} → {show_value(after)}"


def _detail_lines(change: Change) -> list[str]:
    lines = []
    for ic in change.inputs:
        mark = "  (forces replacement)" if ic.forces_replace else ""
        lines.append(f"{ic.path}: {_change_text(ic.before, ic.after)}{mark}")
    lines.extend(change.reasons)
    return lines


def text(diff: StackDiff, header: str) -> str:
    out = [header]
    if diff.empty:
        out.append("  no changes")
    for change in diff.changes:
        out.append(f"  {SYMBOL[change.action]} {change.action:<8} {change.type}  {change.name}")
        out.extend(f"        {line}" for line in _detail_lines(change))
    out.append(f"  {summary_line(diff)}")
    out.append(f"  cost: {cost_line(diff)}")
    if diff.price_warning:
        out.append(f"  note: {diff.price_warning}")
    return "\n".join(out)


def _md_escape(value: str) -> str:
    return value.replace("|", "\\|").replace("`", "'")


def markdown(diff: StackDiff, header: str) -> str:
    out = [f"### {header}", "", f"**{summary_line(diff)}** · cost {cost_line(diff)}", ""]
    if diff.price_warning:
        out += [f"> ⚠ {diff.price_warning}", ""]
    if diff.empty:
        out.append("No infrastructure changes.")
        return "\n".join(out) + "\n"
    out += ["| | action | type | name |", "|---|---|---|---|"]
    for change in diff.changes:
        out.append(f"| {SYMBOL[change.action]} | {change.action} | `{change.type}` | "
                   f"`{change.name}` |")
    details = [(c, _detail_lines(c)) for c in diff.changes if _detail_lines(c)]
    if details:
        out += ["", "<details><summary>changed inputs</summary>", ""]
        for change, lines in details:
            out.append(f"- **{change.action}** `{change.name}` ({change.type})")
            out.extend(f"  - `{_md_escape(line)}`" for line in lines)
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


def exposure_text(found: list[Finding], policy: str) -> str:
    """The loud part of a plan: what the stack opens to the internet."""
    from stix.stack.exposure import HINT, summary

    if not found:
        return "  exposure: nothing open to the internet"
    head = ("  EXPOSED to the internet (refused: policy strict):" if policy == "strict"
            else "  EXPOSED to the internet:")
    return "\n".join([head, *(f"    ! {line}" for line in summary(found)), f"    ({HINT})"])


def exposure_markdown(found: list[Finding], policy: str) -> str:
    if not found:
        return "Exposure: nothing open to the internet.\n"
    from stix.stack.exposure import HINT

    refused = " — **refused by the strict policy**" if policy == "strict" else ""
    out = ["> [!WARNING]", f"> **Exposed to the internet**{refused}", ">"]
    out += [f"> - `{f.resource}`: {_md_escape(f.text)}" for f in found]
    out += [">", f"> {HINT}"]
    return "\n".join(out) + "\n"
