"""A task's resource alternatives, flattened into plain requirements the filters read.

`resources` may hold alternatives at two levels: `any_of`/`ordered` blocks, and inside
each block an accelerator list (ordered) or mapping (cheapest of). A `Choice` keeps that
shape: the optimizer takes the first feasible option of an ordered choice, and ranks all
feasible options of an unordered one together.
"""

from __future__ import annotations

from dataclasses import dataclass

from stix.task import AcceleratorReq, Quantity, Resources, Task
from stix.task.values import is_tpu

# SkyPilot's sizing rules, which its users expect: with neither cpus nor memory asked for,
# 8+ vCPUs; without memory, at least 4 GiB per vCPU of the machine (a CPU task's, or an
# attached GPU's host VM). Only for machines stix provisions: existing machines (local,
# ssh) are taken as they are.
DEFAULT_CPUS = Quantity(8.0, at_least=True)
DEFAULT_MEMORY_PER_VCPU = 4.0
DEFAULT_MEMORY = Quantity(DEFAULT_CPUS.value * DEFAULT_MEMORY_PER_VCPU, at_least=True)


@dataclass(frozen=True)
class Want:
    """One concrete requirement: at most one accelerator option, every field resolved."""

    label: str
    resources: Resources
    accelerator: AcceleratorReq | None
    instance_type: str | None
    cpus: Quantity | None
    memory: Quantity | None
    defaulted: bool  # cpus/memory are stix's defaults, not the user's
    # Without memory: at least this many GiB per vCPU of the machine (None: no rule).
    memory_per_vcpu: float | None
    # An attached GPU's host VM is sized by the cloud's rule (no cpus, memory or type).
    default_host: bool
    # Burstable and shared-core types count (named by the task, or allowed by the user).
    shared_core: bool
    cloud: str | None
    region: str | None
    zone: str | None
    image_regions: frozenset[str] | None
    spot: bool
    max_hourly_cost: float | None
    num_nodes: int


@dataclass(frozen=True)
class Choice:
    """Options of one level: `ordered` → first feasible wins; else the cheapest of all."""

    options: tuple[Want | Choice, ...]
    ordered: bool

    def wants(self) -> list[Want]:
        out: list[Want] = []
        for option in self.options:
            out.extend(option.wants() if isinstance(option, Choice) else [option])
        return out


def _describe(res: Resources, acc: AcceleratorReq | None, defaulted: bool) -> str:
    parts = []
    if acc is not None:
        parts.append(str(acc))
    if res.instance_type:
        parts.append(res.instance_type)
    if res.cpus is not None:
        parts.append(f"cpus={res.cpus}")
    if res.memory is not None:
        parts.append(f"memory={res.memory}")
    if defaulted:
        parts.append(f"default cpus={DEFAULT_CPUS}")
    where = "/".join(p for p in (res.cloud, res.region, res.zone) if p)
    if where:
        parts.append(f"in {where}")
    if res.use_spot:
        parts.append("spot")
    return " ".join(parts) or "any machine"


def _want(res: Resources, acc: AcceleratorReq | None, num_nodes: int,
          shared_core: bool) -> Want:
    # A TPU VM is its own host: a named instance type is said not to apply (task notes).
    instance_type = None if acc is not None and is_tpu(acc.name) else res.instance_type
    defaulted = (acc is None and instance_type is None and res.cpus is None
                 and res.memory is None)  # fmt: skip
    plain = instance_type is None and res.memory is None
    image = res.image_id
    return Want(
        label=_describe(res, acc, defaulted),
        resources=res,
        accelerator=acc,
        instance_type=instance_type,
        cpus=DEFAULT_CPUS if defaulted else res.cpus,
        memory=res.memory,
        defaulted=defaulted,
        memory_per_vcpu=DEFAULT_MEMORY_PER_VCPU if plain and acc is None else None,
        default_host=plain and acc is not None and res.cpus is None,
        shared_core=shared_core or instance_type is not None,
        cloud=res.cloud,
        region=res.region,
        zone=res.zone,
        image_regions=frozenset(image) if isinstance(image, dict) else None,
        spot=bool(res.use_spot),
        max_hourly_cost=res.max_hourly_cost,
        num_nodes=num_nodes,
    )


def _meanings(acc: AcceleratorReq) -> list[AcceleratorReq]:
    """`acc`, then what its name also meant in SkyPilot's catalogs (`ALSO_MEANT`)."""
    from stix.catalog.hardware import ALSO_MEANT

    return [acc, *(AcceleratorReq(n, acc.count) for n in ALSO_MEANT.get(acc.name, ()))]


def _for_block(res: Resources, num_nodes: int, shared_core: bool) -> Want | Choice:
    accs = res.accelerators
    options = [m for a in accs.options for m in _meanings(a)] if accs else [None]
    if len(options) == 1:
        return _want(res, options[0], num_nodes, shared_core)
    return Choice(tuple(_want(res, a, num_nodes, shared_core) for a in options),
                  bool(accs and accs.ordered))


def read_as_note(task: Task, acc: AcceleratorReq | None) -> str | None:
    """What optimize and plan say when the chosen accelerator is one the name a task asked
    for also meant."""
    from stix.catalog.hardware import ALSO_MEANT
    from stix.task.values import fmt_number

    if acc is None:
        return None
    asked = {a.name for b in task.resources.candidates() if b.accelerators
             for a in b.accelerators.options}  # fmt: skip
    if acc.name in asked:
        return None
    named = next((n for n in sorted(asked) if acc.name in ALSO_MEANT.get(n, ())), None)
    if named is None:
        return None
    origin = task.origin
    line = origin.line("resources", "accelerators") if origin is not None else None
    where = f"{origin.source}{f':{line}' if line else ''}: " if origin is not None else ""
    return (f"{where}resources.accelerators: {named}:{fmt_number(acc.count)} is read as "
            f"{named} or "
            f"{acc.name} (SkyPilot's catalogs once named {acc.name} chips {named} too): "
            f"chose {acc}")


def choices(task: Task, shared_core: bool = False) -> Choice:
    """The task's alternatives as a two-level tree of Wants. `shared_core`: burstable and
    shared-core machine types may be chosen without being named."""
    blocks = task.resources.candidates()
    return Choice(tuple(_for_block(b, task.num_nodes, shared_core) for b in blocks),
                  ordered=task.resources.is_ordered)  # fmt: skip
