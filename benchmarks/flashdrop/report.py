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
