"""The report of a run: a short text (printed, report.txt) and its figures (report.json)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from check import Check
from locust_run import LoadResult
from percentiles import percentile
from records import Records
from scenarios import Run


def _ms(row: dict[str, str] | None, column: str) -> str:
    if not row or row.get(column) in (None, "", "N/A"):
        return "-"
    return f"{float(row[column]):.0f} ms"


def _probe(load: LoadResult) -> str:
    values = sorted(load.probe_ms)
    if not values:
        return f"no answers ({load.probe_errors} errors)"
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return (
        f"availability p50 {p50:.0f} ms p99 {p99:.0f} ms max {values[-1]:.0f} ms"
        f" ({len(values)} GETs one at a time from the runner, {load.probe_errors} errors)"
    )


@dataclass
class Answers:
    """The answers Locust got, counted from `statuses.json` ("name status" -> count): every
    answer, also those after the run time (stop-timeout)."""

    statuses: Counter[str]
    by_status: Counter[int] = field(default_factory=Counter)
    by_name: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for key, n in self.statuses.items():
            name, status = key.rsplit(" ", 1)
            self.by_status[int(status)] += n
            self.by_name[name] += n

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def holds(self) -> int:
        return self.statuses.get("reserve 201", 0)

    @property
    def errors_5xx(self) -> int:
        return sum(n for s, n in self.by_status.items() if s >= 500)

    @property
    def other_4xx(self) -> int:
        return sum(n for s, n in self.by_status.items() if 400 <= s < 500 and s != 409)


def _load_lines(run: Run, load: LoadResult, rec: Records, command: str, database: str) -> list[str]:
    args, st, answers = run.args, load.statuses, Answers(load.statuses)
    total = load.stats.get("Aggregated", {})
    requests, holds = answers.requests, answers.holds
    seconds = max(1.0, float(args.duration))
    reserve = load.stats.get("reserve")
    fresh = [h for h in rec.holds.values() if h.entry is None]  # not offers
    committed = sum(1 for h in fresh if h.allowed_statuses() == {"committed"})
    return [
        "",
        f"reservoir load test: {run.scenario.name}"
        f"  ({dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores,"
        f" {platform.python_implementation()} {platform.python_version()})",
        f"  command      {command}",
        f"  database     {database}",
        f"  load         {args.users} users, spawn {args.spawn_rate}/s, {args.duration} s,"
        f" hold TTL {args.ttl} s; Locust 1 process on the same 2 cores",
        f"  requests     {requests} ({requests / seconds:.0f}/s)   "
        + ", ".join(f"{name} {n}" for name, n in sorted(answers.by_name.items())),
        f"  holds (201)  {holds} acknowledged ({holds / seconds:.0f}/s); {committed} committed,"
        f" {sum(1 for h in fresh if h.abandoned)} abandoned",
        f"  409s         {answers.by_status[409]}   ("
        + ", ".join(f"{k} {v}" for k, v in sorted(st.items()) if k.endswith(" 409"))
        + ")",
        f"  errors       5xx {answers.errors_5xx}, transport {answers.by_status[0]},"
        f" other 4xx {answers.other_4xx}",
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


def _warehouse_lines(run: Run, rec: Records) -> list[str]:
    lines = []
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
    return lines


def _note_lines(run: Run, info: dict[str, Any]) -> list[str]:
    lines = [f"  note         {note}" for note in run.notes]
    if info.get("log_problems"):
        lines.append(
            f"  service log  {len(info['log_problems'])} ERROR lines,"
            f" first: {info['log_problems'][0]}"
        )
    return lines


def _check_lines(checks: list[Check], out: Path) -> list[str]:
    lines = ["  invariants"]
    for c in checks:
        lines.append(f"    {'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
    ok = all(c.ok for c in checks)
    lines.append(
        f"  result       {'PASS' if ok else 'FAIL'} ({sum(c.ok for c in checks)}/{len(checks)})"
        f"  run dir {out}"
    )
    return lines


def build_report(
    run: Run,
    load: LoadResult,
    rec: Records,
    checks: list[Check],
    info: dict[str, Any],
    database_note: str,
    out: Path,
) -> dict[str, Any]:
    args, st, answers = run.args, load.statuses, Answers(load.statuses)
    total = load.stats.get("Aggregated", {})
    reserve = load.stats.get("reserve")
    command = shlex.join([".venv/bin/python", "loadtests/run.py", *sys.argv[1:]])
    lines = _load_lines(run, load, rec, command, database_note)
    if info.get("sell_out"):
        lines.append(f"  sell-out     {info['sell_out']}")
    if info.get("buyers"):
        lines.append(f"  buyers       {info['buyers']}")
    if info.get("pools"):
        lines.append(f"  pools        {info['pools']}")
    if info.get("waitlist"):
        lines.append(f"  waitlist     {info['waitlist']}")
    if info.get("offer_lag"):
        lines.append(f"  offer lag    {info['offer_lag']}")
    lines += _warehouse_lines(run, rec) + _note_lines(run, info) + _check_lines(checks, out)
    return {
        "scenario": run.scenario.name,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "database": database_note,
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "duration_s": args.duration,
        "ttl_s": args.ttl,
        "requests": answers.requests,
        "holds_acknowledged": answers.holds,
        "status_409": answers.by_status[409],
        "errors_5xx": answers.errors_5xx,
        "errors_transport": answers.by_status[0],
        "other_4xx": answers.other_4xx,
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
        "buyers": info.get("buyers"),
        "waitlist": info.get("waitlist_figures"),
        "checks": [c.__dict__ for c in checks],
        "notes": run.notes,
        "passed": all(c.ok for c in checks),
        "text": "\n".join(lines),
    }


def write_report(report: dict[str, Any], out: Path) -> None:
    """Prints the report and writes report.txt and report.json into the run dir."""
    print(report["text"])
    (out / "report.txt").write_text(report["text"] + "\n")
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
