# Sourced by cpu_per_reservation.sh and availability_reads.sh: one `reservoir serve` on a fresh
# database, with one SKU (HOT-1) received into one bin. After `start_one_sku_server CMD PORT
# UNITS`: $SPID is the process started, $PID the server's (whose CPU is read), $R its address;
# keys: storefront s1, warehouse w1, admin a1. With PER_BUYER_MAX set, the SKU is capped per
# buyer at that. Needs PostgreSQL at 127.0.0.1:5432 (trust).
start_one_sku_server() {
  local cmd=$1 port=$2 units=$3 db=bench_$2 data
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
  data=$(mktemp -d)
  RESERVOIR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$db RESERVOIR_API_KEYS="storefront:s1,warehouse:w1,admin:a1" RESERVOIR_DATA_DIR=$data RESERVOIR_LOG_LEVEL=warning $cmd serve --port "$port" > "$data/serve.log" 2>&1 &
  SPID=$!
  R=localhost:$port
  for _ in $(seq 50); do curl -sf "$R/readyz" >/dev/null && break; sleep 0.3; done
  local a="Authorization: Bearer" j="Content-Type: application/json"
  local item='{"name":"hot"}'
  [ -n "${PER_BUYER_MAX:-}" ] && item="{\"name\":\"hot\",\"per_buyer_max\":$PER_BUYER_MAX}"
  curl -s -X PUT "$R/v1/items/HOT-1" -H "$a a1" -H "$j" -d "$item" >/dev/null
  curl -s -X PUT "$R/v1/locations/WH-1" -H "$a a1" -H "$j" -d '{"kind":"warehouse"}' >/dev/null
  curl -s -X PUT "$R/v1/locations/WH-1-A01" -H "$a a1" -H "$j" -d '{"kind":"bin","parent":"WH-1"}' >/dev/null
  curl -s -X POST "$R/v1/stock/receipts" -H "$a w1" -H "$j" -d "{\"sku\":\"HOT-1\",\"location\":\"WH-1-A01\",\"quantity\":$units}" >/dev/null
  PID=$(pgrep -P "$SPID" -f serve | head -1 || true); PID=${PID:-$SPID}
}
