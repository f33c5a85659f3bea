"""Run one load test scenario end to end and check the invariants.

    .venv/bin/python loadtests/run.py flash-drop             # 2000 users, 500/s, 60 s
    .venv/bin/python loadtests/run.py checkout-mix           #  500 users, 100/s, 60 s
    .venv/bin/python loadtests/run.py warehouse-during-drop  # 1000 users, 250/s, 60 s
    [--users N] [--spawn-rate R] [--duration S] [--database-url URL [--fresh-database]]

Options common to all: --database-url URL (a PostgreSQL DSN; default: the embedded PostgreSQL
in a fresh data dir), --fresh-database (create a new database on the server of
--database-url, dropped afterwards unless --keep), --ttl S (hold TTL, default 5),
--out DIR (where logs, Locust CSVs, records and the report go; default a new temp dir),
--keep (keep the data dir and the fresh database), --server-env K=V (extra settings for
`reservoir serve`), --picklists auto|on|off (warehouse), --no-restart-check. See README.md.

Steps: start `reservoir serve` (fresh data dir; random API keys; the scenario's settings,
e.g. a 3 s offer TTL for the drops' waitlists) and wait for /readyz; seed the catalogue and
stock through the API; run Locust headless in a subprocess (1 process: on a 2-core machine
it competes with the service for CPU); cancel the waitlist entries still waiting (drop
scenarios); wait until every hold's (and offer's) TTL + 2 s has passed; check the
invariants through the API and the ledger; run `reservoir verify --server` (when the CLI
has it), stop the service, run `reservoir verify`; restart it and compare availability (the
engine recovered from the ledger equals the engine before).
Prints a report (also report.txt / report.json in the run dir) and exits 1 if any invariant
fails, 2 if the run could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api_client import Api
from check import Check
from check_phases import (
    checks_after_expiry,
    checks_at_end_of_load,
    checks_of_verify_and_restart,
    end_waitlists,
    touched_skus,
    wait_for_expiry,
)
from database import Database
from errors import RunError
from locust_run import run_locust
from records import Records
from report import build_report, write_report
from scenarios import SCENARIOS, Run, Scenario, server_env
from service import Service, clean_env

ROLES = ("storefront", "warehouse", "admin")


@dataclass
class Workspace:
    """The run's tag, its run dir (logs, Locust CSVs, records, report), the service's data
    dir and the random API keys."""

    tag: str
    out: Path
    data_dir: Path
    keys: dict[str, str]

    @classmethod
    def create(cls, out: str | None) -> Workspace:
        tag = secrets.token_hex(3)
        run_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix=f"reservoir-load-{tag}-"))
        run_dir.mkdir(parents=True, exist_ok=True)
        data_dir = run_dir / "data"
        data_dir.mkdir(exist_ok=True)
        keys = {role: f"{role[:2]}-{secrets.token_urlsafe(12)}" for role in ROLES}
        return cls(tag, run_dir, data_dir, keys)


@dataclass
class Parts:
    """What the clean-up must close or stop, as far as the run got."""

    api: Api | None = None
    run: Run | None = None
    embedded: Any = None  # the embedded PostgreSQL the runner joined
    passed: bool = False


def new_service(ws: Workspace, dsn: str | None, settings: dict[str, str]) -> Service:
    env = clean_env(
        RESERVOIR_DATABASE_URL=dsn,
        RESERVOIR_DATA_DIR=str(ws.data_dir),
        RESERVOIR_API_KEYS=",".join(f"{r}:{k}" for r, k in ws.keys.items()),
        RESERVOIR_LOG_LEVEL="warning",
        **settings,
    )
    return Service(env=env, data_dir=ws.data_dir, log_dir=ws.out)


async def start_service(service: Service, db: Database, ws: Workspace, parts: Parts) -> str:
    """Starts the service, waits for /readyz; the DSN of its database."""
    service.start()
    ready_s = service.wait_ready()
    print(f"   reservoir serve ready on {service.base_url} in {ready_s:.1f} s")
    if db.dsn is not None:
        return db.dsn
    from reservoir.lib.embedded import start_embedded_postgres

    # joins the service's embedded server (and keeps it up while we check)
    parts.embedded = await asyncio.to_thread(start_embedded_postgres, ws.data_dir / "pg")
    return parts.embedded.dsn


async def seed(scenario: Scenario, args: argparse.Namespace, ws: Workspace, run: Run) -> None:
    run.config |= {
        "keys": ws.keys,
        "tag": ws.tag,
        "ttl_seconds": args.ttl,
        "think_s": [0.2, 1.5],
        "wait_s": [0.5, 2.0],
        "record_path": str(ws.out / "records.jsonl"),
        "statuses_path": str(ws.out / "statuses.json"),
    }
    t0 = time.monotonic()
    await scenario.seed(run)
    seed_s = time.monotonic() - t0
    print(f"   seeded {len(run.seeded)} SKUs ({sum(run.seeded.values())} units) in {seed_s:.1f} s")
    for note in run.notes:
        print(f"   note: {note}")


async def run_scenario(
    scenario: Scenario,
    args: argparse.Namespace,
    ws: Workspace,
    db: Database,
    service: Service,
    parts: Parts,
) -> int:
    dsn = await start_service(service, db, ws, parts)
    parts.api = Api(service.base_url, ws.keys)
    parts.run = run = Run(scenario, args, ws.tag, parts.api, service.base_url)
    await seed(scenario, args, ws, run)
    print(
        f"   Locust: {args.users} users, spawn {args.spawn_rate}/s, {args.duration} s,"
        f" hold TTL {args.ttl} s (1 process, sharing the 2 cores with the service)"
    )
    load = await asyncio.to_thread(run_locust, run, service, ws.out)
    rec = Records.load(ws.out / "records.jsonl")
    touched = touched_skus(run, rec)
    checks: list[Check] = await checks_at_end_of_load(run, touched)
    info: dict[str, Any] = {}
    offers_lapse_by = await end_waitlists(run, info)
    await wait_for_expiry(rec, load, args.ttl, offers_lapse_by)
    after_expiry, levels = await checks_after_expiry(run, rec, load, touched, dsn, info)
    checks += after_expiry
    checks += await checks_of_verify_and_restart(run, service, dsn, ws.data_dir, touched, levels)
    info |= {"log_problems": service.log_problems()[:20]}
    write_report(build_report(run, load, rec, checks, info, db.note, ws.out), ws.out)
    parts.passed = all(c.ok for c in checks)
    return 0 if parts.passed else 1


async def clean_up(
    args: argparse.Namespace, ws: Workspace, db: Database, service: Service, parts: Parts
) -> None:
    """Stops what the run started (also when interrupted); keeps the data dir when a check
    failed or with --keep."""
    run = parts.run
    if run is not None and run.locust is not None and run.locust.poll() is None:
        run.locust.kill()  # interrupted: our own Locust child, by its pid
        run.locust.wait(10)
    if parts.api is not None:
        await parts.api.close()
    service.stop()
    if parts.embedded is not None:
        await asyncio.to_thread(parts.embedded.stop)
    if not args.keep:
        await db.drop_created(args.database_url)
    if not args.keep and parts.passed:
        shutil.rmtree(ws.data_dir, ignore_errors=True)
    elif ws.data_dir.exists():
        print(f"   data dir kept: {ws.data_dir}")


async def main_async(args: argparse.Namespace) -> int:
    scenario = SCENARIOS[args.scenario]
    ws = Workspace.create(args.out)
    db = await Database.prepare(args.database_url, args.fresh_database, ws.tag)
    settings = server_env(scenario, args.server_env)
    service = new_service(ws, db.dsn, settings)
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # clean up too
    print(f"== {scenario.name}: {scenario.summary}")
    print(f"   run dir {ws.out}; database: {db.note}")
    if settings:
        print("   serve settings: " + " ".join(f"{k}={v}" for k, v in settings.items()))
    parts = Parts()
    try:
        return await run_scenario(scenario, args, ws, db, service, parts)
    except RunError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return 2
    finally:
        await clean_up(args, ws, db, service, parts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="loadtests/run.py",
        description="Run a Locust scenario against a fresh `reservoir serve`, check invariants.",
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--database-url", help="PostgreSQL DSN (default: the embedded PostgreSQL)")
    parser.add_argument(
        "--fresh-database",
        action="store_true",
        help="create a new database on the server of --database-url (dropped afterwards)",
    )
    parser.add_argument("--users", type=int, help="Locust users (default per scenario)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second")
    parser.add_argument("--duration", type=int, help="seconds of load (default 60)")
    parser.add_argument("--ttl", type=int, default=5, help="hold TTL in seconds (default 5)")
    parser.add_argument("--stock", type=int, help="drop units (1000) / checkout-mix stock scale")
    parser.add_argument("--skus", type=int, default=10_000, help="checkout-mix SKUs (10,000)")
    parser.add_argument("--zipf-s", type=float, default=1.0, help="checkout-mix Zipf exponent")
    parser.add_argument("--out", help="run dir (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir / fresh database")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="K=V", help="extra serve setting"
    )
    parser.add_argument(
        "--picklists",
        choices=("auto", "on", "off"),
        default="auto",
        help="warehouse-during-drop: pick lists when the server has them (auto), or force",
    )
    parser.add_argument("--no-restart-check", action="store_true")
    args = parser.parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    args.users = args.users or scenario.users
    args.spawn_rate = args.spawn_rate or scenario.spawn_rate
    args.duration = args.duration or scenario.duration_s
    if args.fresh_database and not args.database_url:
        parser.error("--fresh-database needs --database-url (the server to create it on)")
    if not 1 <= args.duration <= 3600:
        parser.error("--duration must be 1..3600 s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
