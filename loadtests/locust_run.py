"""The Locust run: Locust headless in a subprocess, a lone probe client beside it, and the
figures of the run (Locust's statistics, answers by status, CPU time)."""

from __future__ import annotations

import csv
import json
import os
import resource
import shlex
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from errors import RunError
from scenarios import Run
from service import BIN, Service
from stream_checks import StreamWatcher, start_watchers

HERE = Path(__file__).resolve().parent
STOP_TIMEOUT_S = 10  # Locust: how long a user may finish its journey after the run time


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


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
    watchers: list[StreamWatcher]  # of the drop SKU's live stream, still running


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


def locust_command(run: Run, service: Service, prefix: Path) -> list[str]:
    args = run.args
    return [
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


def wait_for_locust(run: Run, cmd: list[str], env: dict[str, str], out: Path) -> int:
    """Runs Locust to its end (bounded: run time + stop timeout + 120 s); its exit status."""
    with open(out / "locust.log", "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=HERE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        run.locust = proc
        try:
            proc.wait(timeout=run.args.duration + STOP_TIMEOUT_S + 120)
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
    return proc.returncode


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_stats(prefix: Path, out: Path, returncode: int) -> dict[str, dict[str, str]]:
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        tail = (out / "locust.log").read_text(errors="replace")[-2000:]
        raise RunError(f"Locust wrote no statistics (exit {returncode}):\n{tail}")
    with open(stats_path, newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def read_statuses(out: Path) -> Counter[str]:
    statuses_path = out / "statuses.json"
    if not statuses_path.exists():
        return Counter()
    return Counter(json.loads(statuses_path.read_text()))


def run_locust(run: Run, service: Service, out: Path) -> LoadResult:
    config_path = out / "config.json"
    config_path.write_text(json.dumps(run.config))
    prefix = out / "locust"
    cmd = locust_command(run, service, prefix)
    (out / "locust-command.txt").write_text(shlex.join(cmd) + "\n")
    env = dict(os.environ, LOADTEST_CONFIG=str(config_path), PYTHONUNBUFFERED="1")
    locust_cpu0 = children_cpu_seconds()
    server_cpu0, busy0 = service.cpu_seconds(), machine_busy()
    probe = Probe(service.base_url, run.config["keys"]["storefront"], run.config["probe_path"])
    probe.start()
    watchers = []
    if "drop_sku" in run.config:
        storefront = run.config["keys"]["storefront"]
        sku, duration = run.config["drop_sku"], run.args.duration
        watchers = start_watchers(service.base_url, storefront, sku, duration)
    t0 = time.monotonic()
    returncode = wait_for_locust(run, cmd, env, out)
    wall = time.monotonic() - t0
    probe.stop()
    busy1 = machine_busy()
    locust_cpu = children_cpu_seconds() - locust_cpu0
    stats = read_stats(prefix, out, returncode)
    return LoadResult(
        stats=stats,
        statuses=read_statuses(out),
        wall_s=wall,
        locust_cpu_s=locust_cpu,
        server_cpu_s=service.cpu_seconds() - server_cpu0,
        machine_busy=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        ended_at=time.time(),
        returncode=returncode,
        probe_ms=probe.latencies_ms,
        probe_errors=probe.errors,
        watchers=watchers,
    )
