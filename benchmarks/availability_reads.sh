#!/usr/bin/env bash
# Availability reads per second of one `reservoir serve` (issue 11's read goal), measured as
# cpu_per_reservation.sh measures holds: a fresh database, one SKU in one bin, then
# `wrk -t1 -c64 -d8s` of `GET /v1/availability/HOT-1`, and the server's own CPU per read.
# Alternate the old and the new build, twice each:
#   benchmarks/availability_reads.sh /path/to/old/.venv/bin/reservoir 8211
#   benchmarks/availability_reads.sh .venv/bin/reservoir 8212
# Needs a PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and wrk.
set -euo pipefail
CMD=$1; PORT=$2
source "$(dirname "$0")/one_sku_server.sh"
start_one_sku_server "$CMD" "$PORT" 1000
A="Authorization: Bearer"
T=$(getconf CLK_TCK)
before=$(awk '{print $14+$15}' /proc/$PID/stat)
out=$(wrk -t1 -c64 -d8s -H "$A s1" http://127.0.0.1:$PORT/v1/availability/HOT-1)
after=$(awk '{print $14+$15}' /proc/$PID/stat)
kill $SPID; wait $SPID 2>/dev/null || true
n=$(echo "$out" | awk '/requests in/ {print $1}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
python3 -c "print(f'{$n/8:,.0f} reads/s, server CPU {($after-$before)/$T/$n*1e6:.0f} us per read, non-2xx ${non2xx:-0}')"
