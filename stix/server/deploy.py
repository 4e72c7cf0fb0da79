"""`stix server deploy`: the stix server itself as a stack, so a team keeps one running in
the cloud. It is an ordinary stix cluster (`stix-server`), planned and applied through the
same path as `stix up` — placement, stack file under stacks/, engine, node phase — with one
difference declared in its stack: the machine's identity may do what a stix server needs to
run clusters (`role: stix-server` in its infra options; the plan shows the policy).

The server's bearer token is this machine's (`~/.stix/server/token`), passed to the node as
a secret; the CLI then talks to the server by URL with the same token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stix import __version__
from stix.errors import UsageError
from stix.say import Say, quiet

CLUSTER = "stix-server"
PORT = 46580
SERVE_PORTS = "30001-30100"  # the services' endpoints (stix serve), opened like PORT
ROLE = "stix-server"

def server_task(cloud: str, region: str | None = None) -> Any:
    """The task that runs a stix server: a small machine, stix installed at this version
    (with an engine), the server on PORT in the foreground as the cluster's job."""
    from stix.task import Task

    setup = ("set -e; python3 -m venv ~/stix-venv; "
             f"~/stix-venv/bin/pip install -q 'stix[pulumi,postgres]=={__version__}'; "
             "~/stix-venv/bin/stix install-pulumi")
    return Task.model_validate({
        "name": CLUSTER,
        "resources": {"infra": f"{cloud}/{region}" if region else cloud,
                      "cpus": "2+", "memory": "4+", "disk_size": 50,
                      "ports": [PORT, SERVE_PORTS]},
        "envs": {"STIX_SERVER_HOST": "0.0.0.0", "STIX_SERVER_PORT": str(PORT),
                 "STIX_SERVE_PORTS": SERVE_PORTS},
        "secrets": {"STIX_SERVER_TOKEN": None},
        "setup": setup,
        "run": "exec ~/stix-venv/bin/stix server start --foreground",
    })


@dataclass
class Deployed:
    plan: Any  # the StackPlan of the server's stack
    url: str | None  # None when only planned


def _placement(task: Any, cloud: str) -> Any:
    from stix.clouds import registry
    from stix.optimizer.choose import choose

    provider = registry.get(cloud)
    if "role" not in provider.options_model.model_fields:
        raise UsageError(f"cloud {cloud!r} (--cloud): the server's identity is "
                         f"not declared for {cloud} yet", hint="deploy on aws; or run "
                         "`stix server start` on a machine of yours and set server.url")
    chosen = choose(task, clouds=[cloud], cluster=CLUSTER, candidates=1).chosen
    from stix.user_config import load_config

    reach = getattr(chosen.extra, "ssh_cidrs", None) or load_config().ssh_cidr or []
    if not reach or any(cidr.endswith("/0") for cidr in reach):
        raise UsageError("stix server deploy: the server speaks plain HTTP with a bearer "
                         "token, so its port is opened only to the networks you name, "
                         "never to the whole internet",
                         hint="set ssh_cidr in ~/.stix/config.yaml (or STIX_SSH_CIDR) to "
                              "your team's CIDRs; SSH and the server's port follow it")
    return chosen.with_options({**chosen.extra.set_fields(), "role": ROLE})


def deploy(cloud: str, *, region: str | None = None, plan_only: bool = False,
           confirm: Callable[[str], bool] | None = None, engine: str | None = None,
           say: Say = quiet) -> Deployed:
    """Plan the server's stack (written under stacks/ like any cluster's) and, unless
    `plan_only`, apply it and start the server; returns the URL the CLI should use."""
    from stix import budget, state
    from stix.cluster import lifecycle
    from stix.server.process import token
    from stix.stack import report
    from stix.stack.plan import plan_placement, task_ref
    from stix.stack.project import find_project

    task = server_task(cloud, region)
    project = find_project()
    placement = _placement(task, cloud)
    budget.check(placement)
    plan = plan_placement(placement, project, task=task_ref(task, project))
    say(report.text(plan.diff, f"stix server on {placement.cloud} {placement.region} "
                               f"({placement.instance_type}, "
                               f"${placement.total_hourly_price:.4f}/h)"))
    if plan_only:
        return Deployed(plan, None)
    lifecycle.up_task(task, cluster=CLUSTER, secrets={"STIX_SERVER_TOKEN": token()},
                      detach_run=True, say=say, engine=engine, confirm=confirm)
    record = state.require_cluster(state.connect(), CLUSTER)
    head = record.nodes[0].host if record.nodes else None
    url = f"http://{head}:{PORT}" if head else None
    return Deployed(plan, url)
