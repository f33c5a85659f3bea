#!/usr/bin/env bash
# Sets up .venv and runs the service. With no RESERVOIR_DATABASE_URL it starts an embedded
# PostgreSQL in the data dir (./.reservoir), so nothing needs to be installed first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
exec reservoir serve "$@"
