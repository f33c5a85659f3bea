# Convenience targets. The two commands a newcomer needs are in README.md and need no make.
.PHONY: help setup test test-fast serve bench bench-engine bench-flashdrop bench-pickpath faults

BENCH_TARGETS ?= asgi-ceiling,ceiling,rowlock,redis,reservoir,reservoir-ceiling
BENCH_CONNECTIONS ?= 64,256
BENCH_DURATION ?= 15

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

setup:  ## .venv with the dev tools and the Rust core built in release
	bash scripts/setup.sh dev

test:  ## everything CI runs (scripts/test.sh)
	bash scripts/test.sh

test-fast:  ## the engine's cargo tests and the Python unit tests, no database
	cargo test -p reservoir-engine
	.venv/bin/python -m pytest tests/unit -q

serve:  ## run the service on :8000 (embedded PostgreSQL unless RESERVOIR_DATABASE_URL)
	bash scripts/serve.sh

bench: bench-engine bench-flashdrop bench-pickpath  ## all three benchmarks below

bench-engine:  ## engine micro benchmarks: Rust (criterion) and through the binding (pytest-benchmark)
	cargo bench -p reservoir-engine --bench engine
	.venv/bin/python -m pytest benchmarks/test_engine_bench.py --benchmark-only -q

bench-flashdrop:  ## wrk side by side (wrk -t1): reservoir vs ceiling, row-lock, Redis -> benchmarks/RESULTS.md
	@command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk"; exit 1; }
	.venv/bin/python benchmarks/compare_flashdrop.py --targets $(BENCH_TARGETS) \
	  --connections $(BENCH_CONNECTIONS) --duration $(BENCH_DURATION)

bench-pickpath:  ## routing strategies vs optimal and OR-Tools, batch picking -> benchmarks/RESULTS.md
	.venv/bin/pip install -q "ortools>=9.10"
	.venv/bin/python benchmarks/pickpath_compare.py

FAULT_CYCLES ?= --kill-cycles 50 --pg-crash-cycles 20 --pause-cycles 5 --redis-cycles 5 --control-cycles 10

faults:  ## the full fault suite (50 kill -9, 20 PostgreSQL crashes, pauses, Redis, control)
	.venv/bin/python -m faults $(FAULT_CYCLES) $(FAULT_ARGS)
