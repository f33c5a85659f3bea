"""The markdown report of a comparison: one table row per run, throughput ratios against
the goals, notes, and the run's metadata (machine, wrk, PostgreSQL, settings)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

from flashdrop.http_and_sql import sql
from flashdrop.run_figures import Run


def row(r: Run) -> str:
    if r.error:
        return f"| {r.target} | {r.conns} | {r.stock:,} | not measured: {r.error.splitlines()[0]} |"
    w, lat = r.wrk, r.wrk["latency_ms"]
    errs = sum(w["errors"][k] for k in ("connect", "read", "write", "timeout")) + w["status_other"]
    ledger = "—" if r.ledger_rows is None else f"{r.ledger_rows:,}"
    checks = ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in r.checks.items()) or "—"
    return (
        f"| {r.target} | {r.conns} | {r.stock:,} | **{r.acked_per_s:,.0f}** | {w['status_201']:,} "
        f"| {w['status_409']:,} | {r.refused_per_s:,.0f} | {errs} | {lat['p50']:.1f} "
        f"| {lat['p99']:.1f} "
        f"| {lat['p99.9']:.1f} | {ledger} | {checks} |"
    )


def ratios(runs: list[Run], conns: int, full: int) -> list[str]:
    got = {r.target: r.acked_per_s for r in runs if r.conns == conns and r.stock == full}
    got = {k: v for k, v in got.items() if v}
    ceiling = "reservoir-ceiling" if "reservoir-ceiling" in got else "ceiling"
    out = []
    for num, den, goal in [
        ("reservoir", "rowlock", "≥ 15"),
        ("reservoir", "redis", "≥ 5"),
        ("reservoir", "asgi-ceiling", "≥ 0.5"),
        ("reservoir", ceiling, None),
        (ceiling, "asgi-ceiling", None),
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


def sold_out_ratios(runs: list[Run], full: int) -> list[str]:
    """Each sell-out run's 409s per second as a share of the ASGI ceiling at its connections
    (goal ≥ 0.7: a sold-out SKU answers at close to the HTTP server's own cost)."""
    ceilings = {r.conns: r.acked_per_s for r in runs if r.target == "asgi-ceiling" and r.wrk}
    out = []
    for r in runs:
        if r.stock < full and r.wrk and ceilings.get(r.conns):
            share = r.refused_per_s / ceilings[r.conns]
            out.append(f"{r.target} 409/s / asgi-ceiling = {share:.2f} (goal ≥ 0.7)")
    return out


def report(runs: list[Run], opts: argparse.Namespace, meta: dict[str, str]) -> str:
    head = (
        "| target | conns | stock | acked/s | 201 | 409 | 409/s | other/err | p50 ms | p99 ms "
        "| p99.9 ms | ledger reserve rows | checks |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [f"## Flash drop side by side — {meta['date']}", ""]
    lines += [f"- command: `{meta['command']}`"] + [
        f"- {k}: {v}" for k, v in meta.items() if k not in ("date", "command")
    ]
    lines += ["", head, *map(row, runs), ""]
    lines.append(
        "- acked/s: 201 answers per second of the measured run (ceilings: no-op 201s, nothing"
        " durable; asgi-ceiling: a raw ASGI app on the same uvicorn, a fixed body); 409/s: the"
        " sold-out answers per second; other/err: non-201/409 answers and socket"
        " errors/timeouts; latency over all answers; a ledger row per 201 is checked after the run"
    )
    for conns in opts.connections:
        lines.append(
            f"- ratios at {conns} connections: " + "; ".join(ratios(runs, conns, opts.stock))
        )
    if sold_out := sold_out_ratios(runs, opts.stock):
        lines.append("- sold out: " + "; ".join(sold_out))
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
