"""A private PostgreSQL cluster from pgserver's binaries: init, start, crash, pause, settings.

pgserver ships initdb, pg_ctl and postgres under `pginstall/bin`. PostgreSQL refuses to run
as root, so as root the cluster runs as pgserver's own system user (created by pgserver's
helper, as the embedded server does)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psutil

START_TIMEOUT_S = 60


def _bin_dir() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as lib/embedded.py notes)
        warnings.simplefilter("ignore")
        import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


class Cluster:
    """One PostgreSQL cluster in `directory`, listening on 127.0.0.1:`port` only."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.pgdata = directory / "pgdata"
        self.log = directory / "postgres.log"
        self.port = port
        self.bin = _bin_dir()
        self.user: str | None = None
        if os.geteuid() == 0:
            _bin_dir()  # imports pgserver quietly
            from pgserver.utils import ensure_user_exists

            self.user = "pgserver"
            ensure_user_exists(self.user)

    # --- lifecycle --------------------------------------------------------------------------

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            from pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.directory)
            self.directory.chmod(0o777)
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.directory}'\n"
                "max_connections = 100\nfsync = on\n"
            )

    def start(self) -> None:
        self._pg_ctl("-l", str(self.log), "-w", "-t", str(START_TIMEOUT_S), "start")

    def stop(self) -> None:
        """A clean stop (fast mode); nothing happens when it is not running."""
        if self.running():
            self._pg_ctl("-m", "fast", "-w", "-t", str(START_TIMEOUT_S), "stop")

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every process quits at once, no checkpoint, WAL that
        was not yet written is gone; the next start runs crash recovery."""
        self._pg_ctl("-m", "immediate", "-w", "-t", str(START_TIMEOUT_S), "stop")

    def reload(self) -> None:
        self._pg_ctl("reload")

    def set(self, **settings: str) -> None:
        """Appends settings to postgresql.conf (the last one wins); call reload() after."""
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = '{value}'\n")

    # --- processes --------------------------------------------------------------------------

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
            return pid if psutil.pid_exists(pid) else None
        return None

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def processes(self) -> list[psutil.Process]:
        """The postmaster first, then its children (backends, WAL writer, ...)."""
        pid = self.postmaster_pid()
        if pid is None:
            return []
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def pause(self) -> list[psutil.Process]:
        """SIGSTOP the postmaster (so it forks nothing new), then each of its children."""
        stopped = []
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGSTOP)
                stopped.append(process)
        return stopped

    @staticmethod
    def resume(stopped: list[psutil.Process]) -> None:
        for process in reversed(stopped):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGCONT)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def wait_accepting(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"PostgreSQL on port {self.port} not accepting after {timeout_s}s")

    # --- helpers ----------------------------------------------------------------------------

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), *args)

    def _run(self, program: str, *args: str) -> None:
        # output to a file, not a pipe: pg_ctl's server may keep a pipe open (pgserver does
        # the same)
        with tempfile.TemporaryFile("w+") as output:
            done = subprocess.run(
                [str(self.bin / program), *args],
                user=self.user,
                cwd=self.directory,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=START_TIMEOUT_S + 30,
                check=False,
            )
            output.seek(0)
            said = output.read()
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{said}\n{tail}")
