"""The live availability stream under a flash drop: how far events trail the ledger, and
what open streams cost the holds.

One `reservoir serve` (benchmarks/one_sku_server.sh: one SKU, HOT-1, ten million units), then
`--rounds` times two segments of `wrk -t1 -c64` one-unit holds for `--duration` seconds: one
with no stream open and one with `--streams` SSE clients of HOT-1, the order alternating
from round to round. Side by side on one server, so the machine's drift (these machines are
shared) and the server's own (open holds grow) fall on both alike.

The server is judged by what it did: holds from wrk's 201s, the server process's CPU per
hold (psutil, user + system, over the segment) and its ledger batches (its /metrics). The
SSE clients run in a child process of their own (`--watch`: one asyncio protocol per stream
on uvloop, each chunk stored with its arrival time and parsed after the segment), so they
take as little CPU from the server as a client can. Lag is a frame's arrival less the ledger
`at` of its LSN (the engine's apply time of the batch's last change; the event goes out after
that batch commits, so the lag includes the group commit and the feed's flush): one
machine, one clock. Each stream's `seq` must run on without a gap or a repeat.

  .venv/bin/python benchmarks/stream_lag.py --streams 100 --duration 8 --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
FRAME = re.compile(rb'data: \{"sku":"[^"]*","seq":(\d+),[^}]*?(?:"lsn":(\d+))?\}\n\n')


def start_server(port: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    script = (
        f"source {ROOT}/benchmarks/one_sku_server.sh; start_one_sku_server "
        f"{ROOT}/.venv/bin/reservoir {port} 1000000; echo $PID; wait"
    )
    proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, env=os.environ | env)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


# --- the watcher process ----------------------------------------------------------------------


class Watch(asyncio.Protocol):
    def __init__(self) -> None:
        self.chunks: list[tuple[float, bytes]] = []
        self.started = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))
        if not self.started.done() and b"event: reset" in data:
            self.started.set_result(None)

    def frames(self) -> list[tuple[float, int, int | None]]:
        """(arrival time, seq, lsn) of each frame, lsn None on a reset."""
        data = b"".join(chunk for _, chunk in self.chunks)
        ends, offset = [], 0
        for _, chunk in self.chunks:
            offset += len(chunk)
            ends.append(offset)
        found = []
        for match in FRAME.finditer(data):
            at = self.chunks[bisect.bisect_left(ends, match.end())][0]
            lsn = match.group(2)
            found.append((at, int(match.group(1)), int(lsn) if lsn else None))
        return found


async def watch(port: int, streams: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    request = (
        b"GET /v1/availability/stream?skus=HOT-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer s1\r\nAccept: text/event-stream\r\n\r\n"
    )
    watches = []
    for _ in range(streams):
        transport, protocol = await loop.create_connection(Watch, "127.0.0.1", port)
        transport.write(request)
        watches.append(protocol)
    await asyncio.wait_for(asyncio.gather(*(w.started for w in watches)), 30)
    print("ready", flush=True)
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu
    print(json.dumps({"cpu_s": cpu, "frames": [w.frames() for w in watches]}), flush=True)


# --- the runs ---------------------------------------------------------------------------------


def gaps(frames: list[tuple[float, int, int | None]]) -> int:
    """Frames whose seq is not the one after the previous (a gap or a repeat)."""
    seqs = [seq for _, seq, _ in frames]
    return sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)


async def counters(port: int) -> dict[str, float]:
    """The server's ledger batches, live-stream seconds and its commit-to-write lag histogram
    (cumulative counts by bucket, "le=<s>") so far: its /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    wanted = {
        "reservoir_ledger_batches_total": "batches",
        "reservoir_live_stream_seconds_total": "stream_s",
    }
    found = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in wanted:
            found[wanted[name]] = float(value)
        elif name.startswith("reservoir_live_stream_lag_seconds_bucket"):
            found["le=" + name.split('le="')[1].rstrip('"}')] = float(value)
    return found


def percentile_of_buckets(buckets: dict[float, float], q: float) -> float:
    """The q-quantile (ms) of a cumulative histogram, linear within the bucket it falls in."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= q * total:
            inside = buckets[bound] - below
            share = (q * total - below) / inside if inside else 0.0
            upper = bound if bound != float("inf") else lower
            return (lower + (upper - lower) * share) * 1000
        lower, below = bound, buckets[bound]
    return lower * 1000


async def segment(port: int, pid: int, streams: int, duration: int) -> dict[str, Any]:
    """One wrk run of `duration` s with `streams` clients open: its figures, and the frames
    the clients saw (arrival, seq, lsn) under "frames"."""
    server = psutil.Process(pid)
    watcher = None
    if streams:
        watcher = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--watch", str(port), "--streams", str(streams),
            "--duration", str(duration + 1),
            stdout=asyncio.subprocess.PIPE, limit=1 << 30,
        )  # fmt: skip
        assert watcher.stdout is not None
        assert (await watcher.stdout.readline()).strip() == b"ready"
    cpu, before = server.cpu_times(), await counters(port)
    wrk = await asyncio.create_subprocess_exec(
        "wrk", "-t1", "-c64", f"-d{duration}s", "-s", str(ROOT / "benchmarks/wrk/reserve.lua"),
        f"http://127.0.0.1:{port}", "--", "path=/v1/reservations", "key=s1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out_wrk, _ = await wrk.communicate()
    after, counted = server.cpu_times(), await counters(port)
    holds = json.loads(out_wrk.decode().strip().splitlines()[-1])["status_201"]
    figures: dict[str, Any] = {
        "streams": streams,
        "holds": holds,
        "cpu_s": after.user + after.system - cpu.user - cpu.system,
        "cpu_system_s": after.system - cpu.system,
        "batches": counted["batches"] - before["batches"],
        "stream_s": counted["stream_s"] - before["stream_s"],
        "lag_buckets": {
            float(k[3:]): counted[k] - before.get(k, 0.0) for k in counted if k.startswith("le=")
        },
    }
    if watcher is not None:
        assert watcher.stdout is not None
        watched = json.loads(await watcher.stdout.readline())
        await watcher.wait()
        figures |= {"clients_cpu_s": watched["cpu_s"], "frames": watched["frames"]}
    return figures


async def run(port: int, streams: int, duration: int, rounds: int, env: dict[str, str]) -> None:
    """One server; `rounds` times a segment with no stream and one with `streams`, the order
    alternating, so drift of the machine or the server falls on both alike."""
    proc, pid = start_server(port, env)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(9):  # ten million units in all: a receipt takes at most a million
            receipt = {"sku": "HOT-1", "location": "WH-1-A01", "quantity": 1_000_000}
            answer = await client.post(
                "/v1/stock/receipts", json=receipt, headers={"Authorization": "Bearer w1"}
            )
            answer.raise_for_status()
    segments = []
    for r in range(rounds):
        for n in (0, streams) if r % 2 == 0 else (streams, 0):
            seg = await segment(port, pid, n, duration)
            segments.append(seg)
            shown = {k: v for k, v in seg.items() if k not in ("frames", "lag_buckets")}
            print(json.dumps({"round": r + 1, **shown}), flush=True)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/bench_{port}")
    rows = await conn.fetch("SELECT lsn, max(at) FROM ledger_entries GROUP BY lsn")
    await conn.close()
    at = {r[0]: r[1].timestamp() for r in rows}
    stopper = await asyncio.create_subprocess_exec("pkill", "-f", f"serve --port {port}")
    await stopper.wait()
    await asyncio.to_thread(proc.wait)

    def total(n: int, key: str) -> float:
        return sum(s[key] for s in segments if s["streams"] == n)

    seen = [f for s in segments if s["streams"] for f in s["frames"]]
    lags = sorted((t - at[lsn]) * 1000 for f in seen for t, _, lsn in f if lsn is not None)
    lag_buckets: dict[float, float] = {}
    for seg in segments:
        if seg["streams"]:
            for bound, count in seg["lag_buckets"].items():
                lag_buckets[bound] = lag_buckets.get(bound, 0.0) + count
    summary = {
        "holds_per_s": {n: round(total(n, "holds") / (rounds * duration)) for n in (0, streams)},
        "holds_ratio": round(total(streams, "holds") / total(0, "holds"), 3),
        "cpu_us_per_hold": {
            n: round(total(n, "cpu_s") * 1e6 / total(n, "holds")) for n in (0, streams)
        },
        "system_us_per_hold": {
            n: round(total(n, "cpu_system_s") * 1e6 / total(n, "holds")) for n in (0, streams)
        },
        "holds_per_batch": {
            n: round(total(n, "holds") / max(1, total(n, "batches")), 1) for n in (0, streams)
        },
        # the server's own account: time inside the feed (events, writes) per CPU second
        "stream_share_of_server_cpu": round(
            total(streams, "stream_s") / total(streams, "cpu_s"), 3
        ),
        "clients_cpu_s_per_segment": round(total(streams, "clients_cpu_s") / rounds, 2),
        "events_per_stream_per_s": round(statistics.mean(len(f) for f in seen) / (duration + 1), 1),
        "seq_gaps_or_repeats": sum(gaps(f) for f in seen),
        # the server's clock: a batch's commit to its events' write (reservoir_live_stream_lag)
        "server_lag_p50_ms": round(percentile_of_buckets(lag_buckets, 0.5), 1),
        "server_lag_p99_ms": round(percentile_of_buckets(lag_buckets, 0.99), 1),
        # the clients' clock: the engine applying the batch's last change to the frame's arrival
        "lag_p50_ms": round(statistics.median(lags), 1),
        "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1], 1),
        "lag_max_ms": round(lags[-1], 1),
    }
    print(json.dumps({"summary": summary}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--streams", type=int, default=100)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--server-env", action="append", default=[], help="K=V for reservoir serve")
    p.add_argument("--watch", type=int, help=argparse.SUPPRESS)  # the watcher process: its port
    opts = p.parse_args()
    if opts.watch:
        import uvloop

        uvloop.run(watch(opts.watch, opts.streams, opts.duration))
        return
    os.chdir(ROOT)
    env = dict(kv.split("=", 1) for kv in opts.server_env)
    asyncio.run(run(8400, opts.streams, opts.duration, opts.rounds, env))


if __name__ == "__main__":
    main()
