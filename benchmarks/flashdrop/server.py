"""A server under test: its command line and environment, start until /readyz, stop, and
its stock loaded for a run."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flashdrop.http_and_sql import http, sql
from flashdrop.targets import BIN, KEYS, ROOT, SKU, WAREHOUSE, Failed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
