"""The service under test: `reservoir serve` as a child process of the runner, its log and
its CPU time."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from errors import RunError

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 180.0  # the embedded default runs initdb on first start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reservoir_command() -> list[str]:
    script = BIN / "reservoir"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reservoir.cli"]


def clean_env(**settings: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVOIR_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: v for k, v in settings.items() if v is not None})
    return env


@dataclass
class Service:
    env: dict[str, str]
    data_dir: Path
    log_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        self.log_path = self.log_dir / f"serve-{self.starts}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*reservoir_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the runner, which stops it in order
            )

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        assert self.proc is not None
        t0 = time.monotonic()
        with httpx.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as client:
            while time.monotonic() - t0 < timeout_s:
                if self.proc.poll() is not None:
                    raise RunError(
                        f"reservoir serve exited ({self.proc.returncode}):\n{self.tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/readyz").status_code == 200:
                        return time.monotonic() - t0
                time.sleep(0.1)
        raise RunError(f"reservoir serve not ready after {timeout_s:.0f} s:\n{self.tail()}")

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM to the service process only (an embedded PostgreSQL it started lives in
        its session and must outlive it for the checks); kill -9 if it hangs."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def cpu_seconds(self) -> float:
        """User + system CPU of the service process so far (Linux /proc)."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, n: int = 25) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(f"    | {line}" for line in lines) + f"\n    (log: {self.log_path})"

    def log_problems(self) -> list[str]:
        found = []
        for path in sorted(self.log_dir.glob("serve-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                    found.append(f"{path.name}: {line[:200]}")
        return found
