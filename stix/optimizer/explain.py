"""Why nothing fits: the constraint that removed the last candidates, and what is near.

Messages are built from the offers that were still standing when the last constraint ran
(`ChainRun.before_kill`), so "nearest" means "would fit if only this one thing gave".
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from stix.catalog import Offer
from stix.clouds.base import Retired
from stix.errors import ResourcesUnavailableError
from stix.optimizer.filters import ChainRun, Filter, LazyRun, survivors
from stix.optimizer.index import OfferIndex, Segment
from stix.optimizer.rank import Ranked
from stix.optimizer.wants import Want
from stix.task.base import did_you_mean
from stix.task.values import fmt_number

SHOWN = 3  # nearest alternatives named in one message
K = TypeVar("K", bound=Hashable)


class NothingFitsError(ResourcesUnavailableError):
    """No offer meets the task; `reasons` holds one line per alternative tried."""

    exit_code = 2

    def __init__(self, reasons: list[str], *, hint: str | None = None) -> None:
        self.reasons = reasons
        if len(reasons) == 1:
            message = f"nothing fits: {reasons[0]}"
        else:
            message = "nothing fits any alternative:\n" + "\n".join(f"  - {r}" for r in reasons)
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class Context:
    enabled: Sequence[str]  # clouds the optimizer may choose
    served: Sequence[str]  # clouds stix has a provider for
    index: OfferIndex
    extra: OfferIndex  # offers of providers that list their own machines (local, ssh)
    own: frozenset[str] = frozenset()  # those providers' names


def money(value: float) -> str:
    return f"${value:.2f}/h" if value >= 1 else f"${value:.4g}/h"


def _hourly(o: Offer, spot: bool) -> float:
    return (o.spot_price if spot and o.spot_price is not None else o.price)


def _where(o: Offer) -> str:
    return f"{o.cloud} {o.region}" + (f" {o.zone}" if o.zone else "")


def _at(o: Offer, spot: bool) -> str:
    """"from $X/h in aws us-east-1 (p4d.24xlarge)"."""
    return f"from {money(_hourly(o, spot))} in {_where(o)} ({o.instance_type})"


def _brief(o: Offer, spot: bool) -> str:
    """"aws us-east-1 (p4d.24xlarge) from $X/h"."""
    return f"{_where(o)} ({o.instance_type}) from {money(_hourly(o, spot))}"


def _order(o: Offer, spot: bool) -> tuple[float, str, str, str, str]:
    return (_hourly(o, spot), o.cloud, o.region, o.zone or "", o.instance_type)


def _cheapest_by(offers: Iterable[Offer], key: Callable[[Offer], K], spot: bool) -> dict[K, Offer]:
    best: dict[K, Offer] = {}
    for o in offers:
        k = key(o)
        cur = best.get(k)
        if cur is None or _order(o, spot) < _order(cur, spot):
            best[k] = o
    return best


def what(want: Want) -> str:
    if want.accelerator is not None:
        return str(want.accelerator)
    if want.instance_type is not None:
        return f"instance type {want.instance_type}"
    sizes = [f"{n}={q}" for n, q in (("cpus", want.cpus), ("memory", want.memory)) if q]
    return "CPU machine" + (f" ({', '.join(sizes)})" if sizes else "")


def _accelerator(want: Want, before: list[Offer]) -> str:
    acc = want.accelerator
    assert acc is not None
    counts = _cheapest_by(before, lambda o: o.accelerator_count, want.spot)
    near = sorted(counts, key=lambda c: (abs(c - acc.count), c))
    first, rest = near[0], near[1:SHOWN]
    text = (f"{acc} is not offered; {acc.name}:{fmt_number(first)} is, "
            f"{_at(counts[first], want.spot)}")
    if rest:
        text += "; also " + ", ".join(
            f"{acc.name}:{fmt_number(c)} {_at(counts[c], want.spot)}" for c in rest
        )
    return text


def _instance_type(want: Want, before: list[Offer], ctx: Context) -> str:
    itype = want.instance_type or ""
    if not ctx.index.has_instance_type(itype):
        return _unknown_type(want, ctx)
    types = _cheapest_by(before, lambda o: (o.cloud, o.instance_type), want.spot)
    ranked = sorted(types.values(), key=lambda o: _order(o, want.spot))[:SHOWN]
    return (f"instance type {itype} does not come with {want.accelerator}; "
            f"{want.accelerator} comes with "
            + ", ".join(_brief(o, want.spot) for o in ranked))


def _quantity(want: Want, before: list[Offer], constraint: str) -> str:
    q = want.cpus if constraint == "cpus" else want.memory
    assert q is not None
    get: Callable[[Offer], float] = (lambda o: o.vcpus) if constraint == "cpus" else (
        lambda o: o.memory_gib)
    unit = "vCPUs" if constraint == "cpus" else "GiB memory"
    values = _cheapest_by(before, get, want.spot)
    near = sorted(values, key=lambda v: (abs(v - q.value), v))[:SHOWN]
    if want.accelerator or want.instance_type:
        head = f"{what(want)} has no offer with {constraint}={q}"
    else:
        head = f"no machine has {constraint}={q}"
    if want.defaulted:
        head += " (stix's default when a task asks for nothing)"
    return head + "; nearest: " + ", ".join(
        f"{fmt_number(v)} {unit} {_at(values[v], want.spot)}" for v in near
    )


def _regions(before: list[Offer], spot: bool, key: Callable[[Offer], Hashable]) -> str:
    best = _cheapest_by(before, key, spot)
    ranked = sorted(best.values(), key=lambda o: _order(o, spot))[:SHOWN]
    return ", ".join(_brief(o, spot) for o in ranked)


def _cloud(want: Want, before: list[Offer], ctx: Context, pinned: bool) -> str:
    clouds = sorted({o.cloud for o in before})
    enabled = ", ".join(ctx.enabled) or "none"
    if not pinned:
        return (f"{what(want)} is offered only in {', '.join(clouds)}, not in the enabled "
                f"clouds ({enabled}: `clouds` (--cloud), the task's buckets or allowed_clouds "
                "in the user config chose them)")
    pin = want.cloud or ""
    if pin not in ctx.enabled:
        return f"cloud {pin} is pinned but not enabled here (enabled: {enabled})"
    facts = _retired(want.accelerator.name, (pin,), ctx) if want.accelerator else []
    if facts:
        return (f"{what(want)} is not offered in {pin}: {_retirement(facts, want, ctx, pin)}; "
                "elsewhere it is in "
                + _regions(before, want.spot, lambda o: (o.cloud, o.region)))
    return (f"{what(want)} is not offered in {pin}; it is in "
            + _regions(before, want.spot, lambda o: (o.cloud, o.region)))


def _location(want: Want, before: list[Offer], ctx: Context, constraint: str) -> str:
    if constraint == "region":
        known = {r for c in {o.cloud for o in before} for r in ctx.index.catalog.regions(c)}
        place = f"region {want.region}"
        hint = "" if want.region in known else did_you_mean(want.region or "", sorted(known))
        return (f"{what(want)} is not offered in {place}{hint}; it is in "
                + _regions(before, want.spot, lambda o: (o.cloud, o.region)))
    if constraint == "zone":
        return (f"{what(want)} is not offered in zone {want.zone}; it is in "
                + _regions(before, want.spot, lambda o: (o.cloud, o.region, o.zone)))
    names = ", ".join(sorted(want.image_regions or ()))
    return (f"image_id maps only regions {names}, where {what(want)} is not offered; it is in "
            + _regions(before, want.spot, lambda o: (o.cloud, o.region)))


def _spot(want: Want, before: list[Offer]) -> str:
    from stix.clouds import registry

    o = min(before, key=lambda x: _order(x, False))
    none = [c for c in sorted({x.cloud for x in before})
            if registry.served(c) and not registry.cloud(c).capabilities.spot]
    market = f" ({', '.join(none)}: no spot market, on-demand instances only)" if none else ""
    return (f"{what(want)} has no spot price where it fits{market}; on demand: "
            f"{_brief(o, False)}")


def _nodes(want: Want, before: list[Offer]) -> str:
    clouds = ", ".join(sorted({o.cloud for o in before}))
    return (f"{what(want)} needs {want.num_nodes} nodes that reach each other; {clouds} runs "
            "one node per cluster (its machines share no private network): set num_nodes: 1 "
            "or choose another cloud")


def _labels(want: Want, before: list[Offer]) -> str:
    from stix.clouds import registry

    clouds = sorted({o.cloud for o in before})
    why = next((p for c in clouds if registry.served(c)
                for k, v in (want.resources.labels or {}).items()
                if (p := registry.get(c).label_problem(k, v))), "")
    return f"{what(want)}: {', '.join(clouds)} cannot carry the task's labels ({why})"


def _arch(want: Want, before: list[Offer]) -> str:
    o = min(before, key=lambda x: _order(x, want.spot))
    return (f"{what(want)} is offered only on {o.arch} here, e.g. {_brief(o, want.spot)}; "
            "name the instance_type to use one")


_WIDEN = {
    "shared_core": "name the type, or set allow_shared_core: true in ~/.stix/config.yaml "
                   "(stix optimize --allow-shared-core)",
    "generation": "name the instance_type to use it",
    "host": "set cpus or memory to size the host yourself",
    "memory": "set memory to choose it yourself",
    "cpus": "set cpus to choose it yourself",
}


def _default_rule(want: Want, f: Filter, before: list[Offer]) -> str:
    o = min(before, key=lambda x: _order(x, want.spot))
    return (f"{what(want)} fits only machines stix's sizing defaults leave out "
            f"({f.label}), e.g. {_brief(o, want.spot)}; {_WIDEN.get(f.name, '')}")


def _suspect(want: Want, before: list[Offer]) -> str:
    o = min(before, key=lambda x: _order(x, want.spot))
    return (f"every {what(want)} that fits is a row `stix catalog check` distrusts, e.g. "
            f"{_brief(o, want.spot)}: {o.suspect}; pin its instance_type and region to use "
            "it anyway")


def left_out_note(run: LazyRun, chosen: Ranked) -> str | None:
    """When a sizing default left out a machine cheaper than the chosen one: which, and
    the rule (the optimizer explains its defaults rather than hiding them)."""
    defaults = [f for f in run.filters if f.default]
    if not defaults:
        return None
    loose = [f for f in run.filters if not f.default]
    spot = run.want.spot
    best: Offer | None = None
    for seg in run.segments:
        if not seg.provisioned:
            continue
        first = next(survivors(seg, loose), None)
        if first is not None and (best is None or _order(first, spot) < _order(best, spot)):
            best = first
    if best is None or _hourly(best, spot) >= chosen.hourly - 1e-9:
        return None
    one = Segment(best.cloud, [best], True)
    rule = next((f for f in defaults if not f.keep(one)), defaults[0])
    label = rule.label if "(default)" in rule.label else f"{rule.label} (default)"
    vcpus = f"{fmt_number(best.vcpus)} vCPU" + ("" if best.vcpus == 1 else "s")
    return (f"left out by stix's sizing defaults: {_brief(best, spot)} with {vcpus} and "
            f"{fmt_number(best.memory_gib)} GiB is cheaper, but fails {label}; "
            f"{_WIDEN.get(rule.name, '')}")


def _price(want: Want, before: list[Offer]) -> str:
    o = min(before, key=lambda x: _order(x, want.spot))
    return (f"the cheapest {what(want)} that fits costs {money(_hourly(o, want.spot))} per node "
            f"in {_where(o)} ({o.instance_type}), above max_hourly_cost "
            f"{money(want.max_hourly_cost or 0.0)}")


def _machines(cloud: str, offers: Sequence[Offer]) -> str:
    kinds = sorted({f"{o.accelerator}:{fmt_number(o.accelerator_count)}" if o.accelerator
                    else f"{fmt_number(o.vcpus)} vCPUs, no GPU" for o in offers})
    if not kinds:
        return f"{cloud} has no machines configured"
    return f"{cloud} has no machine that fits; its machines have {', '.join(kinds[:6])}"


def _empty_pool(want: Want, ctx: Context) -> str:
    index = ctx.index
    if want.cloud is not None and want.cloud in ctx.own:
        return _machines(want.cloud, ctx.extra.catalog.for_cloud(want.cloud))
    if not index.catalog.offers:
        return "the catalog has no offers (see `stix catalog` and STIX_CATALOG_DIR)"
    if want.accelerator is not None:
        name = want.accelerator.name
        resolved = index.resolve_accelerator(name)
        note = _accelerator_note(name, ctx)
        if resolved is None and note:
            return note
        facts = _retired(name, ctx.served, ctx)
        if resolved is None and facts:
            return f"{name} is not offered: {_retirement(facts, want, ctx)}"
        if resolved is None:
            names = index.catalog.accelerator_names()
            return (f"accelerator {name!r} is not in the catalog{did_you_mean(name, names)}; "
                    f"offered: {', '.join(names[:15])}{' …' if len(names) > 15 else ''}")
        clouds = sorted({o.cloud for o in index.catalog.with_accelerator(resolved)})
        return f"{name} is offered only in {', '.join(clouds)}, which stix does not serve"
    if want.instance_type is not None:
        itype = want.instance_type
        if not index.has_instance_type(itype):
            return _unknown_type(want, ctx)
        return f"instance type {itype} is offered only in clouds stix does not serve"
    served = ", ".join(ctx.served) or "none"
    return f"the catalog has no CPU machines in the clouds stix serves ({served})"


def _retired(name: str, clouds: Iterable[str], ctx: Context) -> list[Retired]:
    """The clouds' records of `name` (an accelerator or machine type) being retired."""
    from stix.clouds import registry

    facts = []
    for cloud in clouds:
        ask = getattr(registry.get(cloud), "retired_fact", None) if cloud in ctx.served else None
        fact = ask(name) if ask is not None else None
        if isinstance(fact, Retired):
            facts.append(fact)
    return facts


def _retirement(facts: list[Retired], want: Want, ctx: Context, cloud: str | None = None) -> str:
    """Who retired it and when, and the nearest accelerators offered instead (in `cloud`,
    or anywhere), each at its cheapest."""
    text = "; ".join(dict.fromkeys(f.note for f in facts))
    count = want.accelerator.count if want.accelerator is not None else None
    offered = []
    for name in dict.fromkeys(n for f in facts for n in f.instead):
        resolved = ctx.index.resolve_accelerator(name)
        offers = [o for o in ctx.index.catalog.with_accelerator(resolved)
                  if cloud is None or o.cloud == cloud] if resolved else []  # fmt: skip
        same = [o for o in offers if count is not None and o.accelerator_count == count]
        if same or offers:
            o = min(same or offers, key=lambda x: _order(x, want.spot))
            offered.append(f"{o.accelerator}:{fmt_number(o.accelerator_count)} "
                           f"{_at(o, want.spot)}")
        if len(offered) == SHOWN:
            break
    return text + ("; nearest offered: " + ", ".join(offered) if offered else "")


def _unknown_type(want: Want, ctx: Context) -> str:
    itype = want.instance_type or ""
    clouds = (want.cloud,) if want.cloud else tuple(ctx.served)
    facts = _retired(itype, clouds, ctx)
    if facts:
        return (f"instance type {itype!r} is not offered: "
                f"{_retirement(facts, want, ctx, want.cloud)}")
    return (f"instance type {itype!r} is not in the catalog"
            f"{did_you_mean(itype, ctx.index.instance_types())}")


def _accelerator_note(name: str, ctx: Context) -> str | None:
    """A cloud's own word on an accelerator stix does not offer (a TPU, say)."""
    from stix.clouds import registry

    for cloud in ctx.served:
        provider = registry.get(cloud)
        note = getattr(provider, "accelerator_note", None)
        text = note(name) if note is not None else None
        if text:
            return text
    return None


def reason(run: ChainRun, ctx: Context) -> str:
    """One line: why `run` (a diagnostic run over every served cloud) found nothing."""
    want = run.want
    f = run.killed_by
    if f is None or run.pool_size == 0:
        return _empty_pool(want, ctx)
    before = run.before_kill
    if f.name == "accelerator":
        return _accelerator(want, before)
    if f.name == "instance_type":
        return _instance_type(want, before, ctx)
    if f.default and f.name != "cpus":
        return _default_rule(want, f, before)
    if f.name == "suspect":
        return _suspect(want, before)
    if f.name in ("cpus", "memory"):
        return _quantity(want, before, f.name)
    if f.name == "arch":
        return _arch(want, before)
    if f.name == "cloud":
        return _cloud(want, before, ctx, pinned=f.label.startswith("cloud="))
    if f.name in ("region", "zone", "image_id"):
        return _location(want, before, ctx, f.name)
    if f.name == "use_spot":
        return _spot(want, before)
    if f.name == "num_nodes":
        return _nodes(want, before)
    if f.name == "labels":
        return _labels(want, before)
    return _price(want, before)
