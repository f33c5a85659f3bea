#!/usr/bin/env bash
# Availability reads per second of one `reservoir serve` (issue 11's read goal), measured as
# cpu_per_reservation.sh measures holds: a fresh database, one SKU in one bin, then
# `wrk -t1 -c64 -d8s` of `GET /v1/availability/HOT-1`, and the server's own CPU per read.
# Alternate the old and the new build, twice each:
#   benchmarks/availability_reads.sh /path/to/old/.venv/bin/reservoir 8211
#   benchmarks/availability_reads.sh .venv/bin/reservoir 8212
# Needs a PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and wrk.
set -euo pipefail
CMD=$1; PORT=$2; DB=avail_$PORT
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" 2>/dev/null
DATA=$(mktemp -d)
RESERVOIR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$DB RESERVOIR_API_KEYS="storefront:s1,warehouse:w1,admin:a1" RESERVOIR_DATA_DIR=$DATA RESERVOIR_LOG_LEVEL=warning $CMD serve --port $PORT > $DATA/serve.log 2>&1 &
SPID=$!
for i in $(seq 50); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.3; done
A="Authorization: Bearer"; J="Content-Type: application/json"; R=localhost:$PORT
curl -s -X PUT $R/v1/items/HOT-1 -H "$A a1" -H "$J" -d '{"name":"hot"}' >/dev/null
curl -s -X PUT $R/v1/locations/WH-1 -H "$A a1" -H "$J" -d '{"kind":"warehouse"}' >/dev/null
curl -s -X PUT $R/v1/locations/WH-1-A01 -H "$A a1" -H "$J" -d '{"kind":"bin","parent":"WH-1"}' >/dev/null
curl -s -X POST $R/v1/stock/receipts -H "$A w1" -H "$J" -d '{"sku":"HOT-1","location":"WH-1-A01","quantity":1000}' >/dev/null
PID=$(pgrep -P $SPID -f serve | head -1 || true); PID=${PID:-$SPID}
T=$(getconf CLK_TCK)
before=$(awk '{print $14+$15}' /proc/$PID/stat)
out=$(wrk -t1 -c64 -d8s -H "$A s1" http://127.0.0.1:$PORT/v1/availability/HOT-1)
after=$(awk '{print $14+$15}' /proc/$PID/stat)
kill $SPID; wait $SPID 2>/dev/null || true
n=$(echo "$out" | awk '/requests in/ {print $1}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
python3 -c "print(f'{$n/8:,.0f} reads/s, server CPU {($after-$before)/$T/$n*1e6:.0f} us per read, non-2xx ${non2xx:-0}')"
