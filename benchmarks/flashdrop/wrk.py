"""wrk runs: the reserve script against one server, its JSON summary."""

from __future__ import annotations

import argparse
import json
import subprocess

from flashdrop.targets import KEYS, ROOT, Failed

LUA = ROOT / "benchmarks/wrk/reserve.lua"


def run_wrk(base: str, path: str, conns: int, secs: int, opts: argparse.Namespace) -> dict:
    cmd = ["wrk", f"-t{opts.wrk_threads}", f"-c{conns}", f"-d{secs}s", f"--timeout={opts.timeout}s"]
    cmd += ["-s", str(LUA), base, "--", f"path={path}", f"key={KEYS['storefront']}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    found = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode or not found:
        raise Failed(f"wrk failed ({res.returncode}): {(res.stderr or res.stdout).strip()[:300]}")
    return json.loads(found[-1])
