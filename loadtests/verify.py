"""`reservoir verify` runs: the ledger against the levels, and (when the CLI has it) the live
engine against the ledger."""

from __future__ import annotations

import subprocess
from pathlib import Path

from check import Check
from service import clean_env, reservoir_command


def verify_supports_server() -> bool:
    """Whether `reservoir verify` has `--server URL` (the live engine against the ledger)."""
    res = subprocess.run(
        [*reservoir_command(), "verify", "--help"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "--server" in res.stdout


def run_verify(
    dsn: str, data_dir: Path, server: str | None = None, keys: dict[str, str] | None = None
) -> Check:
    """`reservoir verify` with RESERVOIR_DATABASE_URL; with `server`, also `--server URL`
    (the running engine equals the ledger, at one instant)."""
    env = clean_env(RESERVOIR_DATABASE_URL=dsn, RESERVOIR_DATA_DIR=str(data_dir))
    if keys:
        env["RESERVOIR_API_KEYS"] = ",".join(f"{r}:{k}" for r, k in keys.items())
    cmd = [*reservoir_command(), "verify", *(["--server", server] if server else [])]
    name = (
        "reservoir verify --server clean (live engine = ledger)"
        if server
        else ("reservoir verify clean (ledger = levels, service stopped)")
    )
    try:
        res = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=600, cwd=data_dir
        )
    except subprocess.TimeoutExpired:
        return Check(name, False, "timed out after 600 s")
    lines = res.stdout.strip().splitlines() or [
        ln for ln in res.stderr.strip().splitlines() if " INFO " not in ln
    ]
    return Check(name, res.returncode == 0, " / ".join(lines[-3:]))
