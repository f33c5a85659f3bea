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

Steps: start `reservoir serve` (fresh data dir; random API keys) and wait for /readyz; seed
the catalogue and stock through the API; run Locust headless in a subprocess (1 process: on
a 2-core machine it competes with the service for CPU); wait until every hold's TTL + 2 s
has passed; check the invariants through the API and the ledger; run `reservoir verify
--server` (when the CLI has it), stop the service, run `reservoir verify`; restart it and
compare availability (the engine recovered from the ledger equals the engine before).
Prints a report (also report.txt / report.json in the run dir) and exits 1 if any invariant
fails, 2 if the run could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import itertools
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from check import Check
from hold_checks import check_abandoned_expired, check_acked_holds, check_commit_answers
from records import Records
from reservoir.ledger.fold import FOLD
from service_reads import availability, gather_limited, read_reservations
from stock_checks import (
    check_levels_match_acks,
    check_no_oversell_ever,
    check_no_oversell_now,
    check_receipts,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 180.0  # the embedded default runs initdb on first start
STOP_TIMEOUT_S = 10  # Locust: how long a user may finish its journey after the run time
EXPIRY_GRACE_S = 2.0
EXPECTED = {200, 201, 204, 409}  # 409: sold out, or a commit after the hold expired


class RunError(Exception):
    """The run could not be made (service did not start, seeding refused, Locust failed)."""


# --- the service ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reservoir_command() -> list[str]:
    script = BIN / "reservoir"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reservoir.cli"]


def clean_env(**settings: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVOIR_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: v for k, v in settings.items() if v is not None})
    return env


@dataclass
class Service:
    env: dict[str, str]
    data_dir: Path
    log_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        self.log_path = self.log_dir / f"serve-{self.starts}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*reservoir_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the runner, which stops it in order
            )

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        assert self.proc is not None
        t0 = time.monotonic()
        with httpx.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as client:
            while time.monotonic() - t0 < timeout_s:
                if self.proc.poll() is not None:
                    raise RunError(
                        f"reservoir serve exited ({self.proc.returncode}):\n{self.tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/readyz").status_code == 200:
                        return time.monotonic() - t0
                time.sleep(0.1)
        raise RunError(f"reservoir serve not ready after {timeout_s:.0f} s:\n{self.tail()}")

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM to the service process only (an embedded PostgreSQL it started lives in
        its session and must outlive it for the checks); kill -9 if it hangs."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def cpu_seconds(self) -> float:
        """User + system CPU of the service process so far (Linux /proc)."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, n: int = 25) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(f"    | {line}" for line in lines) + f"\n    (log: {self.log_path})"

    def log_problems(self) -> list[str]:
        found = []
        for path in sorted(self.log_dir.glob("serve-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                    found.append(f"{path.name}: {line[:200]}")
        return found


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


# --- the API client for seeding and checks ----------------------------------------------------


class Api:
    """httpx clients per role, used round-robin: one httpx client slows down badly past a
    few connections, several small ones do not (tests/integration/stock_helpers.py)."""

    CLIENTS, CONNECTIONS, IN_FLIGHT = 4, 4, 16

    def __init__(self, base_url: str, keys: dict[str, str]) -> None:
        limits = httpx.Limits(max_connections=self.CONNECTIONS)
        self.clients = {
            role: [
                httpx.AsyncClient(
                    base_url=base_url,
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=30.0,
                    limits=limits,
                    trust_env=False,
                )
                for _ in range(self.CLIENTS)
            ]
            for role, key in keys.items()
        }
        self._next = itertools.count()

    def __getitem__(self, role: str) -> httpx.AsyncClient:
        clients = self.clients[role]
        return clients[next(self._next) % len(clients)]

    def role(self, role: str) -> RoleClient:
        return RoleClient(self, role)

    async def close(self) -> None:
        for clients in self.clients.values():
            for client in clients:
                await client.aclose()

    async def put(self, path: str, body: dict) -> None:
        r = await self["admin"].put(path, json=body)
        if r.status_code not in (200, 201):
            raise RunError(f"PUT {path} answered {r.status_code}: {r.text[:300]}")

    async def receive(self, sku: str, location: str, quantity: int) -> None:
        body = {"sku": sku, "location": location, "quantity": quantity, "reference": "seed"}
        r = await self["warehouse"].post("/v1/stock/receipts", json=body)
        if r.status_code != 201:
            raise RunError(f"receipt {body} answered {r.status_code}: {r.text[:300]}")


@dataclass
class RoleClient:
    """`get(path)` as one role, spread over that role's clients."""

    api: Api
    name: str

    async def get(self, path: str) -> httpx.Response:
        return await self.api[self.name].get(path)


async def seed_locations(api: Api, warehouse: str, aisles: int, positions: int) -> list[str]:
    await api.put(f"/v1/locations/{warehouse}", {"name": warehouse, "kind": "warehouse"})
    bins = [
        (f"{warehouse}-A{a:02d}-{p:02d}", a, p)
        for a in range(1, aisles + 1)
        for p in range(1, positions + 1)
    ]
    await gather_limited(
        Api.IN_FLIGHT,
        (
            api.put(
                f"/v1/locations/{code}",
                {"kind": "bin", "parent": warehouse, "aisle": a, "position": p},
            )
            for code, a, p in bins
        ),
    )
    return [code for code, _, _ in bins]


async def seed_stock(api: Api, stock: list[tuple[str, str, int]], name: str) -> None:
    """Items (PUT) and their opening receipts (POST), a few requests in flight."""

    async def one(sku: str, location: str, quantity: int) -> None:
        await api.put(f"/v1/items/{sku}", {"name": f"{name} {sku}"})
        if quantity:
            await api.receive(sku, location, quantity)

    await gather_limited(Api.IN_FLIGHT, (one(*s) for s in stock))


# --- scenarios --------------------------------------------------------------------------------


@dataclass
class Run:
    scenario: Scenario
    args: argparse.Namespace
    tag: str
    api: Api
    base_url: str
    config: dict[str, Any] = field(default_factory=dict)
    seeded: dict[str, int] = field(default_factory=dict)  # sku -> opening on_hand
    notes: list[str] = field(default_factory=list)
    locust: subprocess.Popen[bytes] | None = None  # while Locust runs (stopped on Ctrl-C)


@dataclass
class Scenario:
    name: str
    locustfile: str
    users: int
    spawn_rate: float
    duration_s: int
    seed: Callable[[Run], Awaitable[None]]
    summary: str


async def seed_flash_drop(run: Run) -> None:
    warehouse = f"WH-{run.tag}"
    bins = await seed_locations(run.api, warehouse, 1, 1)
    sku = f"DROP-{run.tag}"
    units = run.args.stock or 1000
    await seed_stock(run.api, [(sku, bins[0], units)], "Flash drop item")
    run.seeded = {sku: units}
    run.config |= {"drop_sku": sku, "commit_share": 0.7, "page_view_share": 0.25}
    run.config["probe_path"] = f"/v1/availability/{sku}"


async def seed_checkout_mix(run: Run) -> None:
    warehouse = f"WH-{run.tag}"
    bins = await seed_locations(run.api, warehouse, 8, 5)
    n, s = run.args.skus, run.args.zipf_s
    weights = [1.0 / (k + 1) ** s for k in range(n)]
    total = sum(weights)
    scale = run.args.stock or 6000  # the hottest SKU gets 5 + scale * its share (~600)
    skus = [f"CM-{run.tag}-{k:05d}" for k in range(n)]
    stock = [
        (sku, bins[k % len(bins)], 5 + int(scale * w / total))
        for k, (sku, w) in enumerate(zip(skus, weights, strict=True))
    ]
    await seed_stock(run.api, stock, "Checkout mix item")
    run.seeded = {sku: q for sku, _, q in stock}
    run.config["probe_path"] = f"/v1/availability/{skus[0]}"
    run.config |= {
        "skus": skus,
        "zipf_s": s,
        "commit_share": 0.6,
        "release_share": 0.15,  # the rest (25 %) abandon their cart
        "cancel_share": 0.05,
        "extend_share": 0.1,
        "read_after_ack_share": 0.2,
    }


async def seed_warehouse_during_drop(run: Run) -> None:
    warehouse = f"WH-{run.tag}"
    bins = await seed_locations(run.api, warehouse, 5, 4)
    drop = f"DROP-{run.tag}"
    regular = [f"R-{run.tag}-{k:02d}" for k in range(50)]
    stock = [(drop, bins[0], run.args.stock or 1000)]
    stock += [(sku, bins[(k + 1) % len(bins)], 200) for k, sku in enumerate(regular)]
    await seed_stock(run.api, stock, "Warehouse item")
    run.seeded = {sku: q for sku, _, q in stock}
    picklists = run.args.picklists == "on" or (
        run.args.picklists == "auto" and await detect_picklists(run, warehouse)
    )
    if run.args.picklists == "off":
        run.notes.append("pick lists skipped: --picklists off")
    run.config |= {
        "drop_sku": drop,
        "regular_skus": regular,
        "bins": {sku: loc for sku, loc, _ in stock},
        "warehouse": warehouse,
        "picklists": picklists,
        "probe_path": f"/v1/availability/{drop}",
        "commit_share": 0.7,
        "page_view_share": 0.25,
    }


async def detect_picklists(run: Run, warehouse: str) -> bool:
    """Whether the server has `POST /v1/picklists` (OpenAPI first, else a probe)."""
    r = await run.api["admin"].get("/schema/openapi.json")
    if r.status_code == 200:
        paths = r.json().get("paths", {})
        if any(p.rstrip("/") == "/v1/picklists" and "post" in v for p, v in paths.items()):
            return True
        run.notes.append("pick lists skipped: the server has no POST /v1/picklists (OpenAPI)")
        return False
    r = await run.api["warehouse"].post(
        "/v1/picklists", json={"warehouse": warehouse, "max_orders": 1}
    )
    if r.status_code in (404, 405):
        run.notes.append(f"pick lists skipped: POST /v1/picklists answered {r.status_code}")
        return False
    return True


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "flash-drop",
            "flash_drop.py",
            2000,
            500,
            60,
            seed_flash_drop,
            "1,000 units of one SKU; buyers reserve 1-2, commit 70 % or abandon",
        ),
        Scenario(
            "checkout-mix",
            "checkout_mix.py",
            500,
            100,
            60,
            seed_checkout_mix,
            "10,000 SKUs, Zipf popularity; carts of 1-4 lines; commit/release/abandon/reads",
        ),
        Scenario(
            "warehouse-during-drop",
            "warehouse_during_drop.py",
            1000,
            250,
            60,
            seed_warehouse_during_drop,
            "a drop + regular carts while receipts (and pick lists) run",
        ),
    )
}


# --- Locust -----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    stats: dict[str, dict[str, str]]  # request name -> row of Locust's _stats.csv
    statuses: Counter[str]  # "name status" -> count
    wall_s: float
    locust_cpu_s: float
    server_cpu_s: float
    machine_busy: float
    ended_at: float
    returncode: int
    probe_ms: list[float]
    probe_errors: int


class Probe(threading.Thread):
    """One GET at a time every 50 ms from the runner, outside Locust: the latency a lone
    client sees while the load runs (Locust's own figures include the time its greenlets
    wait for the CPU it shares with the service)."""

    def __init__(self, base_url: str, key: str, path: str) -> None:
        super().__init__(daemon=True)
        self.base_url, self.key, self.path = base_url, key, path
        self.latencies_ms: list[float] = []
        self.errors = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(
            base_url=self.base_url, headers=headers, timeout=30.0, trust_env=False
        ) as client:
            while not self._stop_event.wait(0.05):
                t0 = time.perf_counter()
                try:
                    ok = client.get(self.path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.latencies_ms.append((time.perf_counter() - t0) * 1000)
                else:
                    self.errors += 1

    def stop(self) -> None:
        self._stop_event.set()
        self.join(35)


def run_locust(run: Run, service: Service, out: Path) -> LoadResult:
    config_path = out / "config.json"
    config_path.write_text(json.dumps(run.config))
    args = run.args
    prefix = out / "locust"
    cmd = [
        str(BIN / "locust"),
        "-f",
        str(HERE / run.scenario.locustfile),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.duration}s",
        "--host",
        service.base_url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    (out / "locust-command.txt").write_text(shlex.join(cmd) + "\n")
    env = dict(os.environ, LOADTEST_CONFIG=str(config_path), PYTHONUNBUFFERED="1")
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu0, busy0 = service.cpu_seconds(), machine_busy()
    probe = Probe(service.base_url, run.config["keys"]["storefront"], run.config["probe_path"])
    probe.start()
    t0 = time.monotonic()
    with open(out / "locust.log", "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=HERE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        run.locust = proc
        try:
            proc.wait(timeout=args.duration + STOP_TIMEOUT_S + 120)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise RunError("Locust did not finish in time (see locust.log)") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.monotonic() - t0
    probe.stop()
    busy1 = machine_busy()
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust_cpu = (after_children.ru_utime + after_children.ru_stime) - (
        before_children.ru_utime + before_children.ru_stime
    )
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        tail = (out / "locust.log").read_text(errors="replace")[-2000:]
        raise RunError(f"Locust wrote no statistics (exit {proc.returncode}):\n{tail}")

    with open(stats_path, newline="") as f:
        stats = {row["Name"]: row for row in csv.DictReader(f)}
    statuses_path = out / "statuses.json"
    statuses = (
        Counter(json.loads(statuses_path.read_text())) if statuses_path.exists() else Counter()
    )
    return LoadResult(
        stats=stats,
        statuses=statuses,
        wall_s=wall,
        locust_cpu_s=locust_cpu,
        server_cpu_s=service.cpu_seconds() - server_cpu0,
        machine_busy=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        ended_at=time.time(),
        returncode=proc.returncode,
        probe_ms=probe.latencies_ms,
        probe_errors=probe.errors,
    )


# --- the database -----------------------------------------------------------------------------


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


async def admin_sql(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# --- the run ----------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> int:
    scenario = SCENARIOS[args.scenario]
    tag = secrets.token_hex(3)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix=f"reservoir-load-{tag}-"))
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"
    data_dir.mkdir(exist_ok=True)
    keys = {
        role: f"{role[:2]}-{secrets.token_urlsafe(12)}"
        for role in ("storefront", "warehouse", "admin")
    }
    checks: list[Check] = []
    info: dict[str, Any] = {}
    created_db: str | None = None
    embedded = None
    dsn = args.database_url
    database_note = "embedded PostgreSQL in the data dir"
    if dsn and args.fresh_database:
        created_db = f"reservoir_load_{tag}"
        await admin_sql(dsn, f'CREATE DATABASE "{created_db}"')
        dsn = with_database(dsn, created_db)
        database_note = f"fresh database {created_db} on {urlsplit(dsn).netloc}"
    elif dsn:
        database_note = f"given database {urlsplit(dsn).netloc}{urlsplit(dsn).path}"
    service = Service(
        env=clean_env(
            RESERVOIR_DATABASE_URL=dsn,
            RESERVOIR_DATA_DIR=str(data_dir),
            RESERVOIR_API_KEYS=",".join(f"{r}:{k}" for r, k in keys.items()),
            RESERVOIR_LOG_LEVEL="warning",
            **dict(kv.split("=", 1) for kv in args.server_env),
        ),
        data_dir=data_dir,
        log_dir=out,
    )
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # clean up too
    print(f"== {scenario.name}: {scenario.summary}")
    print(f"   run dir {out}; database: {database_note}")
    api: Api | None = None
    run: Run | None = None
    passed = False
    try:
        service.start()
        ready_s = service.wait_ready()
        print(f"   reservoir serve ready on {service.base_url} in {ready_s:.1f} s")
        if dsn is None:
            from reservoir.lib.embedded import start_embedded_postgres

            # joins the service's embedded server (and keeps it up while we check)
            embedded = await asyncio.to_thread(start_embedded_postgres, data_dir / "pg")
            dsn = embedded.dsn
        api = Api(service.base_url, keys)
        run = Run(scenario, args, tag, api, service.base_url)
        run.config |= {
            "keys": keys,
            "tag": tag,
            "ttl_seconds": args.ttl,
            "think_s": [0.2, 1.5],
            "wait_s": [0.5, 2.0],
            "record_path": str(out / "records.jsonl"),
            "statuses_path": str(out / "statuses.json"),
        }
        t0 = time.monotonic()
        await scenario.seed(run)
        seed_s = time.monotonic() - t0
        print(
            f"   seeded {len(run.seeded)} SKUs ({sum(run.seeded.values())} units) in {seed_s:.1f} s"
        )
        for note in run.notes:
            print(f"   note: {note}")
        print(
            f"   Locust: {args.users} users, spawn {args.spawn_rate}/s, {args.duration} s,"
            f" hold TTL {args.ttl} s (1 process, sharing the 2 cores with the service)"
        )
        load = await asyncio.to_thread(run_locust, run, service, out)
        rec = Records.load(out / "records.jsonl")
        touched = sorted(
            rec.skus() | ({run.config["drop_sku"]} if "drop_sku" in run.config else set())
        )

        # right after the load: the drop and every touched SKU, before any TTL runs out
        storefront = api.role("storefront")
        levels_now = await availability(storefront, touched)
        checks.append(check_no_oversell_now(levels_now, "end of load"))
        if scenario.name == "flash-drop":
            a = levels_now[run.config["drop_sku"]]
            stock = run.seeded[run.config["drop_sku"]]
            checks.append(
                Check(
                    f"flash drop: committed + held <= {stock}",
                    a["committed"] + a["reserved"] <= stock and a["on_hand"] == stock,
                    f"committed {a['committed']} + held {a['reserved']} of {a['on_hand']}",
                )
            )

        # every TTL + 2 s, then the final state
        deadline = max(rec.latest_expiry, load.ended_at + args.ttl) + EXPIRY_GRACE_S
        wait = deadline - time.time()
        if wait > 0:
            print(
                f"   waiting {wait:.1f} s for the last holds to expire"
                f" (TTL + {EXPIRY_GRACE_S:.0f} s)"
            )
            await asyncio.sleep(wait)
        read = await read_reservations(storefront, rec.holds)
        levels = await availability(storefront, touched)
        conn = await asyncpg.connect(dsn)
        try:
            checks.append(check_no_oversell_now(levels, "after expiry"))
            checks.append(await check_no_oversell_ever(conn, sorted(run.seeded)))
            checks += await check_acked_holds(conn, rec, read)
            checks += await check_abandoned_expired(conn, rec, levels, read, sorted(run.seeded))
            if "drop_sku" in run.config:
                info["sell_out"] = await sell_out(conn, run.config["drop_sku"])
            checks.append(check_commit_answers(rec))
            exact = not any(k.endswith(" 0") for k in load.statuses) and not any(
                h.unanswered() for h in rec.holds.values()
            )
            checks.append(check_levels_match_acks(rec, levels, exact))
            if rec.receipts_sent or rec.picks:
                checks += await check_receipts(conn, rec, run.seeded, levels)
        finally:
            await conn.close()
        checks.append(check_answers(load.statuses))

        # verify live (when the CLI can), stop, verify, restart: the engine recovered from the
        # ledger equals the one before
        if await asyncio.to_thread(verify_supports_server):
            checks.append(
                await asyncio.to_thread(run_verify, dsn, data_dir, service.base_url, keys)
            )
        code = service.stop()
        checks.append(
            Check(
                "service stopped cleanly on SIGTERM",
                code in (0, -signal.SIGTERM),  # uvicorn re-raises SIGTERM once shut down
                f"exit {code}",
            )
        )
        checks.append(await asyncio.to_thread(run_verify, dsn, data_dir))
        if not args.no_restart_check:
            service.start()
            service.wait_ready()
            after = await availability(storefront, touched)
            differ = [s for s in touched if _level(after[s]) != _level(levels[s])]
            checks.append(
                Check(
                    "restart: engine recovered from the ledger equals the engine before",
                    not differ,
                    f"{len(touched)} SKUs equal"
                    if not differ
                    else f"{len(differ)} differ: {differ[:3]}",
                )
            )
            service.stop()
        problems = service.log_problems()
        info |= {"log_problems": problems[:20]}

        report = build_report(run, load, rec, checks, info, database_note, out)
        print(report["text"])
        (out / "report.txt").write_text(report["text"] + "\n")
        (out / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
        passed = all(c.ok for c in checks)
        return 0 if passed else 1
    except RunError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if run is not None and run.locust is not None and run.locust.poll() is None:
            run.locust.kill()  # interrupted: our own Locust child, by its pid
            run.locust.wait(10)
        if api is not None:
            await api.close()
        service.stop()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        if created_db and not args.keep:
            with contextlib.suppress(Exception):
                await admin_sql(
                    args.database_url, f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)'
                )
        if not args.keep and passed:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif data_dir.exists():
            print(f"   data dir kept: {data_dir}")


async def sell_out(conn: asyncpg.Connection, sku: str) -> str:
    """From the ledger: how long after the first hold every unit of the drop was held or
    committed (sold out for new buyers), and when the last commit came."""
    rows = await conn.fetch(
        "SELECT at, kind, quantity FROM ledger_entries WHERE sku = $1 ORDER BY lsn, id", sku
    )
    on_hand = reserved = committed = received = shipped = 0
    first = held_out = last_commit = None
    for row in rows:
        d = FOLD[row["kind"]]
        on_hand += d[0] * row["quantity"]
        reserved += d[1] * row["quantity"]
        committed += d[2] * row["quantity"]
        received += row["quantity"] if row["kind"] == "receipt" else 0
        shipped += row["quantity"] if row["kind"] == "ship" else 0
        if row["kind"] == "reserve" and first is None:
            first = row["at"]
        if first is not None and held_out is None and reserved + committed >= on_hand:
            held_out = row["at"]
        if row["kind"] == "commit":
            last_commit = row["at"]
    if first is None:
        return "no holds"

    def after(at: dt.datetime | None) -> str:
        return f"{(at - first).total_seconds():.1f} s" if at else "never"

    return (
        f"every unit held or committed {after(held_out)} after the first hold;"
        f" {committed + shipped} of {received} units received sold (committed or shipped),"
        f" the last commit at {after(last_commit)}"
    )


def _level(a: dict) -> list[tuple]:
    return sorted(
        (x["location"], x["on_hand"], x["reserved"], x["committed"]) for x in a["locations"]
    )


def check_answers(statuses: Counter[str]) -> Check:
    """Every answer is one the contract gives for this traffic: no 5xx, no 4xx but 409,
    no transport errors."""
    unexpected = {k: v for k, v in statuses.items() if int(k.rsplit(" ", 1)[1]) not in EXPECTED}
    return Check(
        "no errors (5xx, transport, unexpected 4xx)",
        not unexpected,
        "every answer 2xx or 409" if not unexpected else f"{unexpected}",
    )


def verify_supports_server() -> bool:
    """Whether `reservoir verify` has `--server URL` (the live engine against the ledger)."""
    res = subprocess.run(
        [*reservoir_command(), "verify", "--help"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "--server" in res.stdout


def run_verify(
    dsn: str, data_dir: Path, server: str | None = None, keys: dict[str, str] | None = None
) -> Check:
    """`reservoir verify` with RESERVOIR_DATABASE_URL; with `server`, also `--server URL`
    (the running engine equals the ledger, at one instant)."""
    env = clean_env(RESERVOIR_DATABASE_URL=dsn, RESERVOIR_DATA_DIR=str(data_dir))
    if keys:
        env["RESERVOIR_API_KEYS"] = ",".join(f"{r}:{k}" for r, k in keys.items())
    cmd = [*reservoir_command(), "verify", *(["--server", server] if server else [])]
    name = (
        "reservoir verify --server clean (live engine = ledger)"
        if server
        else ("reservoir verify clean (ledger = levels, service stopped)")
    )
    try:
        res = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=600, cwd=data_dir
        )
    except subprocess.TimeoutExpired:
        return Check(name, False, "timed out after 600 s")
    lines = res.stdout.strip().splitlines() or [
        ln for ln in res.stderr.strip().splitlines() if " INFO " not in ln
    ]
    return Check(name, res.returncode == 0, " / ".join(lines[-3:]))


# --- the report -------------------------------------------------------------------------------


def _ms(row: dict[str, str] | None, column: str) -> str:
    if not row or row.get(column) in (None, "", "N/A"):
        return "-"
    return f"{float(row[column]):.0f} ms"


def _probe(load: LoadResult) -> str:
    values = sorted(load.probe_ms)
    if not values:
        return f"no answers ({load.probe_errors} errors)"
    p50, p99 = values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.99))]
    return (
        f"availability p50 {p50:.0f} ms p99 {p99:.0f} ms max {values[-1]:.0f} ms"
        f" ({len(values)} GETs one at a time from the runner, {load.probe_errors} errors)"
    )


def build_report(
    run: Run,
    load: LoadResult,
    rec: Records,
    checks: list[Check],
    info: dict[str, Any],
    database_note: str,
    out: Path,
) -> dict[str, Any]:
    args, st = run.args, load.statuses
    total = load.stats.get("Aggregated", {})
    requests = sum(st.values())  # every answer, also those after the run time (stop-timeout)
    by_status: Counter[int] = Counter()
    for key, n in st.items():
        by_status[int(key.rsplit(" ", 1)[1])] += n
    by_name: Counter[str] = Counter()
    for key, n in st.items():
        by_name[key.rsplit(" ", 1)[0]] += n
    holds = st.get("reserve 201", 0)
    conflicts = by_status[409]
    errors_5xx = sum(n for s, n in by_status.items() if s >= 500)
    transport = by_status[0]
    other_4xx = sum(n for s, n in by_status.items() if 400 <= s < 500 and s != 409)
    seconds = max(1.0, float(args.duration))
    reserve = load.stats.get("reserve")
    command = shlex.join([".venv/bin/python", "loadtests/run.py", *sys.argv[1:]])
    committed = sum(1 for h in rec.holds.values() if h.allowed_statuses() == {"committed"})
    lines = [
        "",
        f"reservoir load test: {run.scenario.name}"
        f"  ({dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores,"
        f" {platform.python_implementation()} {platform.python_version()})",
        f"  command      {command}",
        f"  database     {database_note}",
        f"  load         {args.users} users, spawn {args.spawn_rate}/s, {args.duration} s,"
        f" hold TTL {args.ttl} s; Locust 1 process on the same 2 cores",
        f"  requests     {requests} ({requests / seconds:.0f}/s)   "
        + ", ".join(f"{name} {n}" for name, n in sorted(by_name.items())),
        f"  holds (201)  {holds} acknowledged ({holds / seconds:.0f}/s); {committed} committed,"
        f" {sum(1 for h in rec.holds.values() if h.abandoned)} abandoned",
        f"  409s         {conflicts}   ("
        + ", ".join(f"{k} {v}" for k, v in sorted(st.items()) if k.endswith(" 409"))
        + ")",
        f"  errors       5xx {errors_5xx}, transport {transport}, other 4xx {other_4xx}",
        f"  latency      all p50 {_ms(total, '50%')} p99 {_ms(total, '99%')};"
        f" reserve p50 {_ms(reserve, '50%')} p99 {_ms(reserve, '99%')}"
        f" max {_ms(reserve, 'Max Response Time')}",
        f"  probe        {_probe(load)}",
        f"  CPU          service {load.server_cpu_s:.0f} s"
        f" ({load.server_cpu_s / load.wall_s:.0%} of a core),"
        f" Locust {load.locust_cpu_s:.0f} s ({load.locust_cpu_s / load.wall_s:.0%});"
        f" machine busy {load.machine_busy:.0%} (every process, others' too)"
        f" over {load.wall_s:.0f} s",
    ]
    if info.get("sell_out"):
        lines.append(f"  sell-out     {info['sell_out']}")
    if rec.receipts_sent:
        acked = rec.acked_receipts()
        lines.append(
            f"  receipts     {len(acked)} acknowledged, {sum(r['qty'] for r in acked)} units"
        )
    if "picklists" in run.config:
        if run.config["picklists"]:
            shipped = sum(rec.shipped().values())
            lotted = sum(p.get("lotted", 0) for p in rec.picks if p["st"] == 200)
            lines.append(
                f"  pick lists   {len(rec.picks)} confirmed, {shipped} units shipped"
                f" ({lotted} of them picked from a named lot)"
            )
        else:
            lines.append("  pick lists   skipped (see the note)")
    for note in run.notes:
        lines.append(f"  note         {note}")
    if info.get("log_problems"):
        lines.append(
            f"  service log  {len(info['log_problems'])} ERROR lines,"
            f" first: {info['log_problems'][0]}"
        )
    lines.append("  invariants")
    for c in checks:
        lines.append(f"    {'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
    ok = all(c.ok for c in checks)
    lines.append(
        f"  result       {'PASS' if ok else 'FAIL'} ({sum(c.ok for c in checks)}/{len(checks)})"
        f"  run dir {out}"
    )
    return {
        "scenario": run.scenario.name,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "database": database_note,
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "duration_s": args.duration,
        "ttl_s": args.ttl,
        "requests": requests,
        "holds_acknowledged": holds,
        "status_409": conflicts,
        "errors_5xx": errors_5xx,
        "errors_transport": transport,
        "other_4xx": other_4xx,
        "statuses": dict(st),
        "latency_ms": {
            "all_p50": total.get("50%"),
            "all_p99": total.get("99%"),
            "reserve_p50": reserve and reserve.get("50%"),
            "reserve_p99": reserve and reserve.get("99%"),
            "probe": _probe(load),
        },
        "cpu": {
            "service_s": load.server_cpu_s,
            "locust_s": load.locust_cpu_s,
            "machine_busy": load.machine_busy,
            "wall_s": load.wall_s,
        },
        "sell_out": info.get("sell_out"),
        "checks": [c.__dict__ for c in checks],
        "notes": run.notes,
        "passed": ok,
        "text": "\n".join(lines),
    }


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
