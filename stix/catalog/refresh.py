"""Fresh prices without a command: when the catalog in use is older than the user's
`catalog_refresh_hours` (default 7, as SkyPilot pulls its catalog), a detached process
refreshes it from the clouds' public price sources into `$STIX_HOME/prices/`, which is the
catalog in use from then on (unless `STIX_CATALOG_DIR` names another).

The command that noticed never waits: it starts the refresh and goes on with the prices
it has (saying how old they are). Offline, the refresh fails at its first request and
is not tried again for `RETRY_AFTER` seconds, so an offline machine pays one process
start per hour and nothing else. Run as `python -m stix.catalog.refresh` it does the
refresh itself (that is what the detached process runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

RETRY_AFTER = 3600.0  # seconds after a failed refresh before the next try
LOCK_STALE = 3 * 3600.0  # a refresh running longer than this is assumed dead


def prices_dir() -> Path:
    from stix.paths import stix_home

    return stix_home() / "prices"


def _state(name: str) -> Path:
    from stix.paths import stix_home

    return stix_home() / "cache" / f"catalog-refresh.{name}"


def catalog_age_hours(directory: Path, now: float | None = None) -> float | None:
    """Hours since the refreshed catalog was written (None: there is none)."""
    stamps = [p.stat().st_mtime for p in directory.glob("*/source.json")] if directory.is_dir() \
        else []  # fmt: skip
    if not stamps:
        return None
    return ((now or time.time()) - max(stamps)) / 3600


def _recent(path: Path, seconds: float, now: float) -> bool:
    try:
        return now - path.stat().st_mtime < seconds
    except OSError:
        return False


def maybe_refresh(now: float | None = None, spawn: bool = True) -> str | None:
    """Start a background refresh when one is due; return what to tell the user (None:
    nothing to say). Never blocks and never raises for network reasons."""
    from stix.user_config import load_config

    if os.environ.get("STIX_CATALOG_DIR"):
        return None  # the user chose a catalog: leave it as it is
    hours = load_config().catalog_refresh_hours
    if hours <= 0:
        return None
    now = now or time.time()
    age = catalog_age_hours(prices_dir(), now)
    if age is not None and age < hours:
        return None
    stale = ("the shipped snapshot's estimated prices are in use" if age is None
             else f"prices were refreshed {age:.0f} hours ago (catalog_refresh_hours: {hours:g})")
    lock, failed = _state("lock"), _state("failed")
    if _recent(lock, LOCK_STALE, now):
        return f"{stale}; a refresh from the clouds' price sources is running"
    if _recent(failed, RETRY_AFTER, now):
        why = failed.read_text(encoding="utf-8", errors="replace").strip()[:200]
        return f"{stale}; the last refresh failed ({why}); next try within the hour"
    if not spawn:
        return stale
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(str(now), encoding="utf-8")
    log = _state("log").open("ab")
    subprocess.Popen([sys.executable, "-m", "stix.catalog.refresh"], stdin=subprocess.DEVNULL,
                     stdout=log, stderr=log, start_new_session=True, close_fds=True)
    return (f"{stale}; refreshing from the clouds' price sources in the background "
            f"(log: {_state('log')}); `stix catalog update` does it now")


def run(timeout: float = 20.0) -> int:
    """Refresh every cloud whose price source answers; write nothing for one that fails."""
    from stix.catalog.loader import load_catalog, seed_directory
    from stix.catalog.update import CredentialsError, http_opener, updatable_clouds, update_catalog
    from stix.errors import StixError
    from stix.paths import catalog_dir

    out, failures, done = prices_dir(), [], []
    source = catalog_dir()  # clouds not refreshed keep the rows (and provenance) they had
    base = load_catalog()
    for cloud in updatable_clouds():
        try:
            update_catalog([cloud], out, base=base, opener=http_opener(timeout))
            done.append(cloud)
        except CredentialsError as exc:
            print(f"{cloud}: skipped: {exc.message}", flush=True)
        except StixError as exc:
            failures.append(f"{cloud}: {exc.message}")
            if not done and "cannot fetch" in exc.message:
                break  # offline: the other sources will not answer either
    if done:
        seed_directory(out, source)
    _state("lock").unlink(missing_ok=True)
    failed = _state("failed")
    if failures and not done:
        failed.write_text("; ".join(failures), encoding="utf-8")
        print(json.dumps({"refreshed": done, "failed": failures}), flush=True)
        return 1
    failed.unlink(missing_ok=True)
    print(json.dumps({"refreshed": done, "failed": failures}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run())
