"""`reservoir serve` as a subprocess: start, wait until ready (or see it exit), kill -9, stop.

`free_port`, `reservoir_command` and `spawn_serve` are also what the test suite's server
fixture uses (tests/conftest.py): one way to start the service for both."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROLES = ("storefront", "warehouse", "admin")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def reservoir_command() -> list[str]:
    """The `reservoir` console script of this environment (or `python -m reservoir.cli`)."""
    script = Path(sys.executable).with_name("reservoir")
    if script.exists():
        return [str(script)]
    found = shutil.which("reservoir")
    return [found] if found else [sys.executable, "-m", "reservoir.cli"]


def spawn_serve(
    port: int, env: dict[str, str], cwd: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """`reservoir serve` on 127.0.0.1:`port`, its output into `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [*reservoir_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )


def service_env(
    database_url: str, data_dir: Path, keys: dict[str, str], **more: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVOIR_")}
    env.update(
        PYTHONUNBUFFERED="1",
        RESERVOIR_DATABASE_URL=database_url,
        RESERVOIR_DATA_DIR=str(data_dir),
        RESERVOIR_API_KEYS=",".join(f"{role}:{key}" for role, key in keys.items()),
        RESERVOIR_LOG_LEVEL="warning",
        **more,
    )
    return env


@dataclass
class Readiness:
    """How a wait for /readyz ended: `ready`, `process exited` or `timed out`."""

    outcome: str
    seconds: float
    returncode: int | None = None

    @property
    def ready(self) -> bool:
        return self.outcome == "ready"

    def describe(self) -> str:
        if self.outcome == "process exited":
            return f"process exited (status {self.returncode}) after {self.seconds:.1f}s"
        return f"{self.outcome} after {self.seconds:.1f}s"


class Service:
    def __init__(self, directory: Path, port: int, database_url: str, **env: str) -> None:
        self.directory = directory
        self.port = port
        self.keys = {role: f"{role[:2]}_{secrets.token_urlsafe(18)}" for role in ROLES}
        self.env = service_env(database_url, directory, self.keys, **env)
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def start(self) -> None:
        assert not self.alive(), "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log_path = self.directory / f"serve-{self.starts}.log"
        self.process = spawn_serve(self.port, self.env, self.directory, log_path)

    def wait_ready(self, timeout_s: float, since: float | None = None) -> Readiness:
        """Polls /readyz of THIS process until 200, its exit, or `timeout_s`. `seconds`
        counts from `since` (a time.monotonic()), default now."""
        assert self.process is not None
        began = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return Readiness(
                        "process exited", time.monotonic() - began, self.process.returncode
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/readyz").status_code == 200 and self.alive():
                        return Readiness("ready", time.monotonic() - began)
                time.sleep(0.05)
        return Readiness("timed out", time.monotonic() - began)

    def kill(self) -> None:
        """kill -9: nothing flushed, nothing released."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM and wait; kill -9 if it does not stop in time."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, chars: int = 3000) -> str:
        path = self.directory / f"serve-{self.starts}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""
