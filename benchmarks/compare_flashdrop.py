"""Flash drop, side by side, one run: wrk against every target on one hot SKU.

Targets (each its own fresh server process, same machine, same wrk script and connections):
  ceiling            the row-lock baseline app answering POST /bench/noop (no database)
  rowlock            Litestar + asyncpg: UPDATE ... WHERE available >= q, ledger INSERT, per request
  redis              Redis Lua check-and-decrement + ledger INSERT in PostgreSQL, per request
  reservoir          `reservoir serve` on a fresh database (RESERVOIR_BENCH_ENDPOINTS=1)
  reservoir-ceiling  the same reservoir server answering POST /bench/noop
  reservoir-before   `reservoir serve` of another build (`--before-cmd`, e.g. the previous
                     commit's .venv), to measure a change side by side with what it changes

After each run the ledger is read back: every 201 must have its `reserve` row (zero lost
acks) and the reserved units must never exceed the stock (no oversell). A limited-stock run
per stateful target checks that a sell-out stops exactly at the stock.

  .venv/bin/python benchmarks/compare_flashdrop.py --targets ceiling,rowlock,redis,reservoir
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import redis

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "benchmarks/wrk/reserve.lua"
SKU, WAREHOUSE, BIN = "HOT-1", "WH-1", "WH-1-A01"
KEYS = {"storefront": "bench-storefront-key", "warehouse": "bench-warehouse-key"}
KEYS["admin"] = "bench-admin-key"
ALL_TARGETS = ["ceiling", "rowlock", "redis", "reservoir", "reservoir-ceiling", "reservoir-before"]
SERVER_OF = {
    "ceiling": "rowlock",
    "reservoir-ceiling": "reservoir",
    "reservoir-before": "reservoir",
}
NOOP = {"ceiling", "reservoir-ceiling"}
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failed(Exception):
    """A target could not be measured (server missing, did not start, setup refused)."""


@dataclass
class Run:
    target: str
    conns: int
    stock: int
    wrk: dict = field(default_factory=dict)
    acked_total: int = 0  # 201s over warm-up and measured run
    ledger_rows: int | None = None
    ledger_units: int | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def acked_per_s(self) -> float:
        return self.wrk["status_201"] / self.wrk["duration_s"] if self.wrk else 0.0


def http(method: str, url: str, key: str | None = None, body: object = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} | (
        {"Authorization": f"Bearer {key}"} if key else {}
    )
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _http.open(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")[:300]


def sql(dsn: str, query: str, *params: object) -> list:
    async def go() -> list:
        con = await asyncpg.connect(dsn)
        try:
            return await con.fetch(query, *params)
        finally:
            await con.close()

    return asyncio.run(go())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reservoir_cmd(target: str, opts: argparse.Namespace) -> str:
    return opts.before_cmd if target == "reservoir-before" else opts.reservoir_cmd


class Server:
    def __init__(self, kind: str, opts: argparse.Namespace, logdir: Path, cmd: str = "") -> None:
        self.kind, self.opts, self.port, self.cmd = kind, opts, free_port(), cmd
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = logdir / f"{kind}-{self.port}.log"
        self.dsn = f"{opts.pg}/bench_{kind}"
        self.proc: subprocess.Popen | None = None

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        addr = ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.kind == "reservoir":
            exe = shlex.split(self.cmd)
            if not shutil.which(exe[0]):
                raise Failed(f"reservoir CLI not found ({exe[0]}): is the service built/installed?")
            sql(f"{self.opts.pg}/postgres", "DROP DATABASE IF EXISTS bench_reservoir WITH (FORCE)")
            sql(f"{self.opts.pg}/postgres", "CREATE DATABASE bench_reservoir")
            env |= {
                "RESERVOIR_DATABASE_URL": self.dsn,
                "RESERVOIR_API_KEYS": ",".join(f"{r}:{k}" for r, k in KEYS.items()),
                "RESERVOIR_BENCH_ENDPOINTS": "1",
                "RESERVOIR_DATA_DIR": str(self.log.parent / "reservoir-data"),
            }
            env.pop("RESERVOIR_REDIS_URL", None)
            env |= dict(kv.split("=", 1) for kv in self.opts.reservoir_env)
            return [*exe, "serve", *addr], env
        app = ROOT / f"benchmarks/baselines/{self.kind}_app.py"
        env |= {"BENCH_API_KEY": KEYS["storefront"], "BENCH_DEFAULT_LOCATION": BIN}
        extra = ["--dsn", self.dsn, "--pool-size", str(self.opts.pool_size)]
        return [sys.executable, str(app), *addr, *extra, "--redis-url", self.opts.redis], env

    def start(self) -> None:
        cmd, env = self.command()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.opts.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                last = (self.log.read_text(errors="replace").strip().splitlines() or ["?"])[-1]
                raise Failed(f"{self.kind} exited ({self.proc.returncode}): {last}\n{self.tail()}")
            with contextlib.suppress(OSError):
                if http("GET", f"{self.base}/readyz")[0] == 200:
                    return
            time.sleep(0.2)
        raise Failed(
            f"{self.kind}: /readyz not 200 after {self.opts.ready_timeout}s:\n{self.tail()}"
        )

    def tail(self, n: int = 15) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(f"    | {line}" for line in lines) + f"\n    (full log: {self.log})"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own child's group, by its id
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    # --- stock and read-back --------------------------------------------------------------
    def load_stock(self, units: int) -> None:
        if self.kind != "reservoir":
            st, body = http("POST", f"{self.base}/admin/reset?on_hand={units}", KEYS["storefront"])
            if st != 200:
                raise Failed(f"{self.kind}: reset answered {st}: {body}")
            return
        steps = [
            ("PUT", f"/v1/items/{SKU}", "admin", {"name": "Flash drop item"}),
            ("PUT", f"/v1/locations/{WAREHOUSE}", "admin", {"name": "WH 1", "kind": "warehouse"}),
            ("PUT", f"/v1/locations/{BIN}", "admin", {"kind": "bin", "parent": WAREHOUSE}),
        ]
        for left in range(units, 0, -1_000_000):  # receipts of at most 1,000,000 units
            body = {"sku": SKU, "location": BIN, "quantity": min(left, 1_000_000)}
            steps.append(("POST", "/v1/stock/receipts", "warehouse", body))
        for method, path, role, body in steps:
            st, answer = http(method, self.base + path, KEYS[role], body)
            if st not in (200, 201):
                raise Failed(f"reservoir: {method} {path} answered {st}: {answer}")

    def read_back(self, run: Run) -> None:
        """Ledger `reserve` rows and units, and the no-oversell check of this server."""
        c = run.checks
        if self.kind == "reservoir":
            run.ledger_rows, run.ledger_units = self.reservoir_ledger()
            st, a = http("GET", f"{self.base}/v1/availability/{SKU}", KEYS["storefront"])
            if st != 200 or not isinstance(a, dict):
                raise Failed(f"reservoir: availability answered {st}: {a}")
            c["no oversell"] = a["reserved"] + a["committed"] <= a["on_hand"] == run.stock
            c["levels match ledger"] = a["reserved"] == run.ledger_units
            return
        q = "SELECT count(*), coalesce(sum(quantity), 0) FROM ledger WHERE kind = 'reserve'"
        run.ledger_rows, run.ledger_units = (int(x) for x in sql(self.dsn, q)[0])
        if self.kind == "rowlock":
            lv = sql(self.dsn, "SELECT on_hand, reserved, committed FROM levels WHERE sku=$1", SKU)[
                0
            ]
            c["no oversell"] = lv["reserved"] + lv["committed"] <= lv["on_hand"] == run.stock
            c["levels match ledger"] = lv["reserved"] == run.ledger_units
        else:
            avail = int(redis.Redis.from_url(self.opts.redis).get(f"bench:avail:{SKU}:{BIN}"))
            c["no oversell"] = avail >= 0 and run.ledger_units <= run.stock
            c["levels match ledger"] = avail + run.ledger_units == run.stock

    def reservoir_ledger(self) -> tuple[int, int]:
        rows = units = 0
        after, seen, limit = None, set(), 1000
        while True:
            q = {"sku": SKU, "limit": limit} | ({"after": after} if after else {})
            st, page = http("GET", f"{self.base}/v1/ledger?{urlencode(q)}", KEYS["admin"])
            if st in (400, 422) and limit > 100:  # a lower page-size cap: ask again
                limit = 100
                continue
            if st != 200 or not isinstance(page, dict):
                raise Failed(f"reservoir: GET /v1/ledger answered {st}: {page}")
            for e in page["entries"]:
                if e["kind"] == "reserve":
                    rows, units = rows + 1, units + abs(int(e["quantity"]))
            after = page.get("next")
            if not after or after in seen:
                return rows, units
            seen.add(after)


def run_wrk(base: str, path: str, conns: int, secs: int, opts: argparse.Namespace) -> dict:
    cmd = ["wrk", f"-t{opts.wrk_threads}", f"-c{conns}", f"-d{secs}s", f"--timeout={opts.timeout}s"]
    cmd += ["-s", str(LUA), base, "--", f"path={path}", f"key={KEYS['storefront']}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    found = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode or not found:
        raise Failed(f"wrk failed ({res.returncode}): {(res.stderr or res.stdout).strip()[:300]}")
    return json.loads(found[-1])


def measure(target: str, conns: int, stock: int, secs: int, opts, logdir: Path) -> Run:
    run = Run(target, conns, stock)
    server = Server(SERVER_OF.get(target, target), opts, logdir, reservoir_cmd(target, opts))
    noop, sell_out = target in NOOP, stock < opts.stock
    path = "/bench/noop" if noop else "/v1/reservations"
    try:
        server.start()
        if noop:
            probe = {"lines": [{"sku": SKU, "quantity": 1}]}
            if (st := http("POST", server.base + path, KEYS["storefront"], probe)[0]) != 201:
                raise Failed(f"{target}: POST {path} answered {st} (RESERVOIR_BENCH_ENDPOINTS?)")
        else:
            server.load_stock(stock)
        sql(f"{opts.pg}/postgres", "CHECKPOINT")
        warm = {}
        if opts.warmup > 0 and not sell_out:
            warm = run_wrk(server.base, path, conns, opts.warmup, opts)
        run.wrk = run_wrk(server.base, path, conns, secs, opts)
        run.acked_total = run.wrk["status_201"] + warm.get("status_201", 0)
        if not noop:
            check_ledger(run, server, sell_out, in_flight_max=(2 if warm else 1) * conns)
    except (Failed, subprocess.SubprocessError, OSError, asyncpg.PostgresError) as e:
        run.error = str(e) or type(e).__name__
    finally:
        server.stop()
    if target in ("reservoir", "reservoir-before") and opts.verify and not run.error:
        verify(run, target, opts, server)
    return run


def check_ledger(run: Run, server: Server, sell_out: bool, in_flight_max: int) -> None:
    """Reads the server's ledger back and checks it against what wrk saw acknowledged.
    `in_flight_max`: requests cut off when wrk stopped yet committed (allowed: not acked)."""
    if server.kind == "reservoir":  # read through the API: let in-flight batches land
        time.sleep(2)
        server.read_back(run)
    server.stop()  # baselines: read the database once every in-flight request ended
    if server.kind != "reservoir":
        server.read_back(run)
    c = run.checks
    c["zero lost acks"] = run.acked_total <= run.ledger_rows
    c["no phantom rows"] = run.ledger_rows <= run.acked_total + in_flight_max
    c["within stock"] = run.ledger_units <= run.stock
    if sell_out and run.wrk["status_409"]:  # sold out: it must stop exactly at the stock
        c["sold out exactly"] = run.ledger_units == run.stock
    elif sell_out:
        run.notes.append("sell-out run never saw a 409: stock not exhausted in time")
    if run.ledger_rows > run.acked_total:
        run.notes.append(f"{run.ledger_rows - run.acked_total} committed after wrk stopped")


def verify(run: Run, target: str, opts, server: Server) -> None:
    """`reservoir verify` of the build under test against the run's ledger."""
    v = subprocess.run(
        [*shlex.split(reservoir_cmd(target, opts)), "verify"],
        env=os.environ | {"RESERVOIR_DATABASE_URL": server.dsn},
        capture_output=True,
        text=True,
        timeout=300,
    )
    run.checks["reservoir verify"] = v.returncode == 0
    if v.returncode:
        run.notes.append(f"verify exit {v.returncode}: {(v.stdout + v.stderr).strip()[-300:]}")


# --- reporting ----------------------------------------------------------------------------
def row(r: Run) -> str:
    if r.error:
        return f"| {r.target} | {r.conns} | {r.stock:,} | not measured: {r.error.splitlines()[0]} |"
    w, lat = r.wrk, r.wrk["latency_ms"]
    errs = sum(w["errors"][k] for k in ("connect", "read", "write", "timeout")) + w["status_other"]
    ledger = "—" if r.ledger_rows is None else f"{r.ledger_rows:,}"
    checks = ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in r.checks.items()) or "—"
    return (
        f"| {r.target} | {r.conns} | {r.stock:,} | **{r.acked_per_s:,.0f}** | {w['status_201']:,} "
        f"| {w['status_409']:,} | {errs} | {lat['p50']:.1f} | {lat['p99']:.1f} "
        f"| {lat['p99.9']:.1f} | {ledger} | {checks} |"
    )


def ratios(runs: list[Run], conns: int, full: int) -> list[str]:
    got = {r.target: r.acked_per_s for r in runs if r.conns == conns and r.stock == full}
    got = {k: v for k, v in got.items() if v}
    ceiling = "reservoir-ceiling" if "reservoir-ceiling" in got else "ceiling"
    out = []
    for num, den, goal in [
        ("reservoir", "rowlock", "≥ 8"),
        ("reservoir", "redis", "≥ 2"),
        ("reservoir", ceiling, "≥ 0.75"),
        ("reservoir", "reservoir-before", None),
        ("redis", "rowlock", None),
        ("rowlock", "ceiling", None),
        ("redis", "ceiling", None),
    ]:
        if num in got and den in got:
            out.append(
                f"{num}/{den} = {got[num] / got[den]:.2f}" + (f" (goal {goal})" if goal else "")
            )
        elif goal:
            out.append(f"{num}/{den} = n/a ({num if num not in got else den} not measured)")
    return out


def report(runs: list[Run], opts: argparse.Namespace, meta: dict[str, str]) -> str:
    head = (
        "| target | conns | stock | acked/s | 201 | 409 | other/err | p50 ms | p99 ms | p99.9 ms "
        "| ledger reserve rows | checks |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [f"## Flash drop side by side — {meta['date']}", ""]
    lines += [f"- command: `{meta['command']}`"] + [
        f"- {k}: {v}" for k, v in meta.items() if k not in ("date", "command")
    ]
    lines += ["", head, *map(row, runs), ""]
    lines.append(
        "- acked/s: 201 answers per second of the measured run (ceilings: no-op 201s, nothing"
        " durable); other/err: non-201/409 answers and socket errors/timeouts; latency over all"
        " answers; a ledger row per 201 is checked after the run"
    )
    for conns in opts.connections:
        lines.append(
            f"- ratios at {conns} connections: " + "; ".join(ratios(runs, conns, opts.stock))
        )
    notes = [f"{r.target}@{r.conns}: {n}" for r in runs for n in r.notes]
    lines += [f"- notes: {'; '.join(notes)}"] if notes else []
    return "\n".join(lines) + "\n"


def metadata(opts: argparse.Namespace) -> dict[str, str]:
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    pg = sql(f"{opts.pg}/postgres", "SELECT version(), current_setting('synchronous_commit')")[0]
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "wrk": f"{wrk_v.split(' Copyright')[0]}, `-t{opts.wrk_threads}`"
        " (wrk shares the CPUs with the server and PostgreSQL)",
        "machine": f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()},"
        f" load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "postgres": f"{pg[0].split(' on ')[0]}, synchronous_commit={pg[1]}",
        "servers": "one uvicorn process each (uvloop, httptools, no access log);"
        f" baselines: asyncpg pool {opts.pool_size}",
        "run": f"{opts.duration:g} s measured after {opts.warmup:g} s warm-up,"
        f" stock {opts.stock:,}; sell-out runs: {opts.limited_stock:,} units,"
        f" {opts.limited_duration:g} s",
    }


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--targets",
        default=",".join(t for t in ALL_TARGETS if t != "reservoir-before"),
        help="comma list of " + ",".join(ALL_TARGETS),
    )
    p.add_argument("--connections", default="64,256", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up load (0: none)")
    p.add_argument("--stock", type=int, default=10_000_000)
    p.add_argument(
        "--limited-stock", type=int, default=1000, help="units in the sell-out run (0: skip)"
    )
    p.add_argument("--limited-duration", type=int, default=5)
    p.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="DSN without database"
    )
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--pool-size", type=int, default=32, help="asyncpg/redis pool of the baselines")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--timeout", type=int, default=30, help="wrk request timeout, s")
    p.add_argument("--ready-timeout", type=float, default=120.0)
    p.add_argument(
        "--reservoir-env",
        action="append",
        default=[],
        metavar="K=V",
        help="extra env for reservoir serve",
    )
    p.add_argument("--reservoir-cmd", default=str(Path(sys.executable).with_name("reservoir")))
    p.add_argument(
        "--before-cmd",
        default="",
        help="the `reservoir` of another build, for the target reservoir-before",
    )
    p.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip `reservoir verify`"
    )
    p.add_argument(
        "--results",
        type=Path,
        default=ROOT / "benchmarks/RESULTS.md",
        help="markdown file to append to",
    )
    p.add_argument("--no-write", action="store_true", help="print only")
    opts = p.parse_args()
    targets = opts.targets.split(",")
    if unknown := set(targets) - set(ALL_TARGETS):
        p.error(f"unknown targets: {', '.join(sorted(unknown))}")
    if "reservoir-before" in targets and not opts.before_cmd:
        p.error("the target reservoir-before needs --before-cmd")
    meta = metadata(opts)
    logdir = Path(tempfile.mkdtemp(prefix="flashdrop-"))
    runs: list[Run] = []
    plan = [(t, c, opts.stock, opts.duration) for c in opts.connections for t in targets]
    if opts.limited_stock:
        plan += [
            (t, max(opts.connections), opts.limited_stock, opts.limited_duration)
            for t in targets
            if t not in NOOP
        ]
    for target, conns, stock, secs in plan:
        print(f"-> {target} @ {conns} connections, stock {stock:,}, {secs:g} s", flush=True)
        runs.append(measure(target, conns, stock, secs, opts, logdir))
        r = runs[-1]
        print(
            f"   {r.error}"
            if r.error
            else f"   {r.acked_per_s:,.0f} acked/s  {r.wrk['latency_ms']}  {r.checks}",
            flush=True,
        )
    meta["machine"] += f", at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    text = report(runs, opts, meta)
    print("\n" + text)
    if not opts.no_write:
        with open(opts.results, "a") as f:
            f.write("\n" + text)
        print(f"appended to {opts.results}; server logs in {logdir}")
    if any(not ok for r in runs for ok in r.checks.values()):
        return 1
    return 2 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
