"""The fault cycles. Each runs the load, injects its fault mid-load, waits for the service to
be ready again, loads a little more, stops the load and judges what it acknowledged."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from faults.judge import Verdict, events_missing, judge, stream_last_id
from faults.load import Load
from faults.rig import Rig
from faults.service import Readiness


@dataclass
class Options:
    concurrency: int = 32
    load_seconds: float = 2.0  # of load before the fault, at least
    min_acks: int = 50  # ... and at least this many 201s (waited for up to warmup_timeout_s)
    warmup_timeout_s: float = 60.0
    after_seconds: float = 1.0  # of load after the service is ready again
    ready_timeout_s: float = 60.0
    pause_seconds: float = 5.0
    redis_down_seconds: float = 3.0
    settle_seconds: float = 6.0  # the same process must still be ready this long after
    events_timeout_s: float = 30.0


@dataclass
class CycleResult:
    kind: str
    number: int
    readiness: Readiness
    histogram: Counter[int | str]
    verdict: Verdict
    acknowledged_after: int  # 201s once ready again
    problems: list[str] = field(default_factory=list)
    control: bool = False
    events: tuple[int, int] | None = None  # (reserve rows in the ledger, missing in the stream)

    @property
    def ok(self) -> bool:
        return not self.problems


Fault = Callable[[Rig, Options], Awaitable[Readiness]]


async def kill_9(rig: Rig, options: Options) -> Readiness:
    """kill -9 of the service, then a new process."""
    since = time.monotonic()
    await asyncio.to_thread(rig.service.kill)
    await asyncio.to_thread(rig.service.start)
    return await asyncio.to_thread(rig.service.wait_ready, options.ready_timeout_s, since)


async def pg_crash(rig: Rig, options: Options) -> Readiness:
    """pg_ctl stop -m immediate, start again: the SAME service process must be ready again."""
    since = time.monotonic()
    await asyncio.to_thread(rig.cluster.crash)
    await asyncio.to_thread(rig.cluster.start)
    return await asyncio.to_thread(rig.service.wait_ready, options.ready_timeout_s, since)


async def pg_pause(rig: Rig, options: Options) -> Readiness:
    """SIGSTOP of the postmaster and every backend for a while, then SIGCONT."""
    since = time.monotonic()
    rig.paused = await asyncio.to_thread(rig.cluster.pause)
    try:
        await asyncio.sleep(options.pause_seconds)
    finally:
        await asyncio.to_thread(rig.cluster.resume, rig.paused)
        rig.paused = []
    return await asyncio.to_thread(rig.service.wait_ready, options.ready_timeout_s, since)


async def redis_stop(rig: Rig, options: Options) -> Readiness:
    """Redis stopped for a while (SHUTDOWN SAVE), then started again with its data."""
    since = time.monotonic()
    await asyncio.to_thread(rig.redis.stop)
    await asyncio.sleep(options.redis_down_seconds)
    await asyncio.to_thread(rig.redis.start)
    return await asyncio.to_thread(rig.service.wait_ready, options.ready_timeout_s, since)


async def crash_both(rig: Rig, options: Options) -> Readiness:
    """The negative control's fault: PostgreSQL crashes under load (pg_ctl stop -m immediate)
    and the service is killed with -9; both start again."""
    since = time.monotonic()
    await asyncio.to_thread(rig.cluster.crash)
    await asyncio.to_thread(rig.service.kill)
    await asyncio.to_thread(rig.cluster.start)
    await asyncio.to_thread(rig.service.start)
    return await asyncio.to_thread(rig.service.wait_ready, options.ready_timeout_s, since)


async def run_cycle(
    rig: Rig, options: Options, kind: str, number: int, fault: Fault, *, same_process: bool
) -> CycleResult:
    await rig.ensure_service()
    sku = f"FAULT-{kind.upper()}-{number:03d}"
    await rig.stock(sku)
    redis = rig.redis.client()
    stream_from = await asyncio.to_thread(stream_last_id, redis)
    pid = rig.service.pid
    load = Load(rig.service.base_url, rig.service.headers("storefront"), sku, options.concurrency)
    stop = asyncio.Event()
    budget = (
        options.load_seconds + options.warmup_timeout_s + options.ready_timeout_s
        + options.pause_seconds + options.redis_down_seconds + options.settle_seconds
        + options.after_seconds + 120
    )  # fmt: skip
    running = asyncio.create_task(load.run(stop, budget))
    problems: list[str] = []
    try:
        await asyncio.sleep(options.load_seconds)
        await load.acknowledged_at_least(options.min_acks, options.warmup_timeout_s)
        fault_at = time.monotonic()
        readiness = await fault(rig, options)
        ready_at = time.monotonic()
        if readiness.ready:
            await asyncio.sleep(options.settle_seconds if same_process else options.after_seconds)
            if same_process and (not rig.service.alive() or rig.service.pid != pid):
                readiness = Readiness("process exited", readiness.seconds, _status(rig))
                problems.append(f"the service exited after being ready again ({_status(rig)})")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=60)
    if not readiness.ready:
        problems.append(f"not ready again: {readiness.describe()}")
    elif same_process and rig.service.pid != pid:
        problems.append("a new process, not the same one, is serving")
    histogram = load.histogram(fault_at, ready_at)
    acknowledged_after = load.histogram(ready_at, time.monotonic())[201]
    verdict = await judge(rig.dsn, sku, load.acknowledged)
    if verdict.lost:
        problems.append(f"{verdict.lost} acknowledged holds lost")
    if verdict.oversold:
        problems.append("oversold: " + "; ".join(verdict.oversold))
    if not verdict.verify_ok:
        problems.append(f"reservoir verify: {verdict.verify_said}")
    if readiness.ready and not acknowledged_after:
        problems.append("no hold acknowledged once ready again")
    result = CycleResult(kind, number, readiness, histogram, verdict, acknowledged_after, problems)
    if kind == "redis":
        await _judge_events(rig, options, sku, stream_from, result)
    redis.close()
    return result


async def _judge_events(
    rig: Rig, options: Options, sku: str, stream_from: str, result: CycleResult
) -> None:
    refused = {k: n for k, n in result.histogram.items() if k != 201}
    if refused:
        result.problems.append(f"writes affected while Redis was down: {refused}")
    with rig.redis.client() as client:
        wanted, missing = await events_missing(
            rig.dsn, client, sku, stream_from, options.events_timeout_s
        )
    if missing:
        result.problems.append(f"{missing} of {wanted} reserve events not in the stream")
    result.events = (wanted, missing)


def _status(rig: Rig) -> int | None:
    process = rig.service.process
    return None if process is None else process.poll()


async def run_control(rig: Rig, options: Options, number: int) -> CycleResult:
    """A crash cycle at synchronous_commit=off: it must SEE loss (the check's own check)."""
    result = await run_cycle(rig, options, "control", number, crash_both, same_process=False)
    result.control = True
    lost = [p for p in result.problems if "acknowledged holds lost" in p]
    result.problems = [p for p in result.problems if p not in lost]
    return result
