#!/usr/bin/env bash
# Sets up a virtual environment in .venv with reservoir installed and its Rust core
# built in release mode. Idempotent: run it again after pulling.
# Needs only Python 3.11+, a Rust toolchain (cargo) and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "maturin>=1.9,<2"
if [ -n "$extras" ]; then
  maturin develop --release --quiet --extras "$extras"
else
  maturin develop --release --quiet
fi
