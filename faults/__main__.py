"""`python -m faults`: runs the cycles, prints each one and a summary; exit 1 on any
acknowledged write lost (outside the negative control), any failed check, or a control that
saw no loss."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

from faults import cycles, report
from faults.cycles import CycleResult, Options
from faults.rig import Rig, rig


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    p.add_argument("--kill-cycles", type=int, default=2, help="kill -9 of the service")
    p.add_argument(
        "--pg-crash-cycles",
        type=int,
        default=1,
        help="pg_ctl stop -m immediate; the same service process must recover by itself",
    )
    p.add_argument("--pause-cycles", type=int, default=1, help="SIGSTOP of PostgreSQL")
    p.add_argument("--redis-cycles", type=int, default=1, help="Redis stopped and started")
    p.add_argument(
        "--control-cycles",
        type=int,
        default=5,
        help="at most this many crash cycles at synchronous_commit=off, until one shows loss",
    )
    p.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    p.add_argument(
        "--load-seconds", type=float, default=2.0, help="load before each fault, at least"
    )
    p.add_argument(
        "--min-acks", type=int, default=50, help="201s before each fault (waited up to 60 s)"
    )
    p.add_argument("--after-seconds", type=float, default=1.0, help="load after recovery")
    p.add_argument("--pause-seconds", type=float, default=5.0)
    p.add_argument("--redis-down-seconds", type=float, default=3.0)
    p.add_argument("--ready-timeout", type=float, default=60.0, help="seconds to be ready again")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    for name in ("kill_cycles", "pg_crash_cycles", "pause_cycles", "redis_cycles"):
        if not 0 <= getattr(args, name) <= 1000:
            p.error(f"--{name.replace('_', '-')} must be 0..1000")
    if not 0 <= args.control_cycles <= 100:
        p.error("--control-cycles must be 0..100")
    if not 1 <= args.concurrency <= 256:
        p.error("--concurrency must be 1..256")
    return args


async def run_all(the_rig: Rig, args: argparse.Namespace, options: Options) -> list[CycleResult]:
    results: list[CycleResult] = []

    def show(result: CycleResult) -> None:
        results.append(result)
        print(report.cycle_line(result), flush=True)

    plan: list[tuple[str, int, cycles.Fault, bool]] = [
        ("kill-9", args.kill_cycles, cycles.kill_9, False),
        ("pg-crash", args.pg_crash_cycles, cycles.pg_crash, True),
        ("pg-pause", args.pause_cycles, cycles.pg_pause, True),
        ("redis", args.redis_cycles, cycles.redis_stop, True),
    ]
    for kind, count, fault, same_process in plan:
        for number in range(1, count + 1):
            show(
                await cycles.run_cycle(
                    the_rig, options, kind, number, fault, same_process=same_process
                )
            )
    if args.control_cycles:
        await _set_synchronous_commit(the_rig, "off")
        try:
            for number in range(1, args.control_cycles + 1):
                show(await cycles.run_control(the_rig, options, number))
                if results[-1].verdict.lost:
                    break
        finally:
            await _set_synchronous_commit(the_rig, "on")
    return results


async def _set_synchronous_commit(the_rig: Rig, value: str) -> None:
    the_rig.cluster.set(synchronous_commit=value)
    await asyncio.to_thread(the_rig.cluster.reload)


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the rig still stops everything it started."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    _stop_on_sigterm()
    options = Options(
        concurrency=args.concurrency,
        load_seconds=args.load_seconds,
        min_acks=args.min_acks,
        after_seconds=args.after_seconds,
        ready_timeout_s=args.ready_timeout,
        pause_seconds=args.pause_seconds,
        redis_down_seconds=args.redis_down_seconds,
    )
    began = time.monotonic()
    print(
        "fault suite: holds of 1 unit from"
        f" {args.concurrency} clients; 'ready again' counts from the fault's start",
        flush=True,
    )
    with rig(args.ready_timeout, keep=args.keep) as the_rig:
        results = asyncio.run(run_all(the_rig, args, options))
    print()
    for line in report.summary(results, args.control_cycles):
        print(line)
    why = report.failures(results)
    print(f"\n{len(results)} cycles in {time.monotonic() - began:.0f}s")
    if why:
        print("FAILED:\n  " + "\n  ".join(why))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
