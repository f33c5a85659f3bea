"""The live availability stream under a flash drop: how far events trail the ledger, and
what open streams cost the holds.

One `reservoir serve` per run (benchmarks/one_sku_server.sh: one SKU, HOT-1), `wrk -t1 -c64`
of one-unit holds for `--duration` seconds, with `--streams` SSE clients of HOT-1 open. Runs
with 0 streams and with N are measured side by side, alternated, `--pairs` times.

The server is judged by what it did: holds/s from wrk's 201s, and the server process's CPU
seconds per 1,000 holds (psutil, user + system, over the load). The SSE clients run in a
child process of their own (`--watch`: one asyncio protocol per stream on uvloop, each
chunk stored with its arrival time and parsed after the run), so they take as little CPU
from the server as a client can. Lag is a frame's arrival time less the ledger `at` of its
LSN (the engine's apply time of the batch's last change; the event goes out after that batch
commits, so the lag includes the group commit and the feed's flush): one machine, one clock.
Each stream's `seq` must run 1, 2, 3, … without a gap or a repeat.

  .venv/bin/python benchmarks/stream_lag.py --streams 100 --duration 10 --pairs 3
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

import asyncpg
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
    await asyncio.sleep(seconds)
    print(json.dumps([w.frames() for w in watches]), flush=True)


# --- the runs ---------------------------------------------------------------------------------


def gaps(frames: list[tuple[float, int, int | None]]) -> int:
    """Frames whose seq is not the one after the previous (a gap or a repeat)."""
    seqs = [seq for _, seq, _ in frames]
    return sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)


async def run(port: int, streams: int, duration: int, env: dict[str, str]) -> dict[str, float]:
    proc, pid = start_server(port, env)
    server = psutil.Process(pid)
    watcher = None
    if streams:
        watcher = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--watch", str(port), "--streams", str(streams),
            "--duration", str(duration + 3),
            stdout=asyncio.subprocess.PIPE, limit=1 << 30,
        )  # fmt: skip
        assert watcher.stdout is not None
        assert (await watcher.stdout.readline()).strip() == b"ready"
    await asyncio.sleep(1.0)
    cpu = server.cpu_times()
    wrk = await asyncio.create_subprocess_exec(
        "wrk", "-t1", "-c64", f"-d{duration}s", "-s", str(ROOT / "benchmarks/wrk/reserve.lua"),
        f"http://127.0.0.1:{port}", "--", "path=/v1/reservations", "key=s1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out_wrk, _ = await wrk.communicate()
    after = server.cpu_times()
    result = json.loads(out_wrk.decode().strip().splitlines()[-1])
    holds = result["status_201"]
    figures = {
        "holds_per_s": round(holds / duration),
        "cpu_ms_per_1000_holds": round(
            (after.user + after.system - cpu.user - cpu.system) * 1e6 / holds
        ),
    }
    if watcher is not None:
        assert watcher.stdout is not None
        seen = json.loads(await watcher.stdout.readline())
        await watcher.wait()
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/bench_{port}")
        rows = await conn.fetch("SELECT lsn, max(at) FROM ledger_entries GROUP BY lsn")
        await conn.close()
        at = {r[0]: r[1].timestamp() for r in rows}
        lags = sorted(
            (t - at[lsn]) * 1000 for frames in seen for t, _, lsn in frames if lsn is not None
        )
        figures |= {
            "events_per_stream": round(statistics.mean(len(f) for f in seen)),
            "seq_gaps_or_repeats": sum(gaps(f) for f in seen),
            "lag_p50_ms": round(statistics.median(lags), 1),
            "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1], 1),
            "lag_max_ms": round(lags[-1], 1),
        }
    stopper = await asyncio.create_subprocess_exec("pkill", "-f", f"serve --port {port}")
    await stopper.wait()
    await asyncio.to_thread(proc.wait)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--streams", type=int, default=100)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--server-env", action="append", default=[], help="K=V for reservoir serve")
    p.add_argument("--watch", type=int, help=argparse.SUPPRESS)  # the watcher process: its port
    opts = p.parse_args()
    if opts.watch:
        import uvloop

        uvloop.run(watch(opts.watch, opts.streams, opts.duration))
        return
    os.chdir(ROOT)
    env = dict(kv.split("=", 1) for kv in opts.server_env)
    for pair in range(opts.pairs):
        for streams in (0, opts.streams):
            port = 8400 + pair * 2 + (1 if streams else 0)
            figures = asyncio.run(run(port, streams, opts.duration, env))
            print(json.dumps({"pair": pair + 1, "streams": streams, **figures}), flush=True)


if __name__ == "__main__":
    main()
