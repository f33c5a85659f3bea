#!/usr/bin/env bash
# The tuning log's measurement (benchmarks/RESULTS.md, "Hot-path tuning log"): one
# `reservoir serve` on a fresh database with 1,000,000 units of one SKU, `wrk -t1 -c64 -d8s`
# of one-unit holds, and the server's own CPU time (utime+stime from /proc) per
# acknowledged hold, and PostgreSQL's (every `postgres` process, so run nothing else on
# that server meanwhile). Run it for the old and the new build alternately, twice each:
#   benchmarks/cpu_per_reservation.sh /path/to/old/.venv/bin/reservoir 8201
#   benchmarks/cpu_per_reservation.sh .venv/bin/reservoir 8202
# Needs a PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and wrk. BUYERS=N makes each hold
# name one of N buyers; PER_BUYER_MAX=M caps the SKU per buyer (issue 12's caps on/off).
set -euo pipefail
CMD=$1; PORT=$2
source "$(dirname "$0")/one_sku_server.sh"
start_one_sku_server "$CMD" "$PORT" 1000000
A="Authorization: Bearer"
T=$(getconf CLK_TCK)
pg_cpu() { for p in $(pgrep -x postgres); do awk '{print $14+$15}' /proc/$p/stat 2>/dev/null; done | awk '{s+=$1} END {print s+0}'; }
pg_before=$(pg_cpu)
before=$(awk '{print $14+$15}' /proc/$PID/stat)
out=$(wrk -t1 -c64 -d8s -s "$(dirname "$0")/wrk/reserve.lua" http://127.0.0.1:$PORT -- path=/v1/reservations key=s1 buyers="${BUYERS:-}" | tail -1)
after=$(awk '{print $14+$15}' /proc/$PID/stat)
pg_after=$(pg_cpu)
n=$(echo "$out" | python3 -c "import json,sys; print(json.load(sys.stdin)['status_201'])")
kill $SPID; wait $SPID 2>/dev/null || true
python3 -c "print(f'{$n/8:,.0f} req/s, server CPU {($after-$before)/$T/$n*1e6:.0f} us per reservation, PostgreSQL {($pg_after-$pg_before)/$T/$n*1e6:.0f} us')"
