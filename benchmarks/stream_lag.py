"""The live availability stream under a flash drop: how far events trail the ledger, and
what open streams cost the holds.

One `reservoir serve` per run (benchmarks/one_sku_server.sh: one SKU, HOT-1), `wrk -t1 -c64`
of one-unit holds for `--duration` seconds, with `--streams` SSE clients of HOT-1 open. A run
with 0 streams and one with N are measured side by side, alternated. Lag is the client's
receive time less the ledger `at` of the event's LSN (when the engine applied the last change
of the batch; the event goes out after that batch commits, so the lag includes the group
commit): both clocks are this machine's.

  .venv/bin/python benchmarks/stream_lag.py --streams 100 --duration 10 --pairs 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]


def start_server(port: int) -> tuple[subprocess.Popen[bytes], str]:
    script = (
        f"source {ROOT}/benchmarks/one_sku_server.sh; start_one_sku_server "
        f"{ROOT}/.venv/bin/reservoir {port} 1000000; echo $SPID; wait"
    )
    proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc, f"http://127.0.0.1:{port}"


async def watch(base: str, stop: asyncio.Event, stamps: list[tuple[int, float]]) -> None:
    async with (
        httpx.AsyncClient(base_url=base, timeout=None) as client,
        client.stream(
            "GET",
            "/v1/availability/stream",
            params={"skus": "HOT-1"},
            headers={"Authorization": "Bearer s1"},
        ) as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if "lsn" in data:
                    stamps.append((data["lsn"], time.time()))
            if stop.is_set():
                return


async def run(port: int, streams: int, duration: int) -> dict[str, float]:
    proc, base = start_server(port)
    stop = asyncio.Event()
    stamps: list[list[tuple[int, float]]] = [[] for _ in range(streams)]
    tasks = [asyncio.create_task(watch(base, stop, stamps[i])) for i in range(streams)]
    await asyncio.sleep(1.0)
    wrk = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        "-c64",
        f"-d{duration}s",
        "-s",
        str(ROOT / "benchmarks/wrk/reserve.lua"),
        base,
        "--",
        "path=/v1/reservations",
        "key=s1",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await wrk.communicate()
    result = json.loads(out.decode().strip().splitlines()[-1])
    await asyncio.sleep(1.0)
    stop.set()
    for task in tasks:
        task.cancel()
    lags: list[float] = []
    if streams:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/bench_{port}")
        rows = await conn.fetch("SELECT lsn, max(at) FROM ledger_entries GROUP BY lsn")
        at = {r[0]: r[1].timestamp() for r in rows}
        await conn.close()
        for seen in stamps:
            lags += [(t - at[lsn]) * 1000 for lsn, t in seen if lsn in at]
    stopper = await asyncio.create_subprocess_exec("pkill", "-f", f"serve --port {port}")
    await stopper.wait()
    proc.terminate()
    await asyncio.to_thread(proc.wait)
    figures = {"holds_per_s": result["status_201"] / duration, "events": float(len(lags))}
    if lags:
        lags.sort()
        figures["lag_p50_ms"] = statistics.median(lags)
        figures["lag_p99_ms"] = lags[int(len(lags) * 0.99) - 1]
    return figures


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--streams", type=int, default=100)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--pairs", type=int, default=2)
    opts = p.parse_args()
    os.chdir(ROOT)
    for pair in range(opts.pairs):
        for streams in (0, opts.streams):
            port = 8400 + pair * 2 + (1 if streams else 0)
            figures = asyncio.run(run(port, streams, opts.duration))
            print(json.dumps({"pair": pair + 1, "streams": streams, **figures}), flush=True)


if __name__ == "__main__":
    main()
