"""IaC engines behind one interface (`base.Engine`): `pulumi` (default) and
`terraform`/`tofu`; `select` picks one for this user."""

from stix.engine.select import ENGINES, engine_report, get_engine

__all__ = ["ENGINES", "engine_report", "get_engine"]
