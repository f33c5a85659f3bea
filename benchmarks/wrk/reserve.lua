-- Flash drop: every request reserves 1 unit of one hot SKU.
--   wrk -t1 -c64 -d15s --latency -s benchmarks/wrk/reserve.lua http://127.0.0.1:8000 \
--       -- path=/v1/reservations key=<bearer key> [sku=HOT-1] [quantity=1] [buyers=N]
-- Each setting may also come from the environment: BENCH_PATH, BENCH_KEY, BENCH_SKU,
-- BENCH_QUANTITY, BENCH_BUYERS. With buyers=N each hold names a buyer drawn at random from
-- N ("b1".."bN"), as a storefront capping a drop per buyer sends. done() prints one JSON
-- line: counts by status and latency in ms.
local threads = {}
s201, s409, sother = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local opt = {
    path = os.getenv("BENCH_PATH") or "/v1/reservations",
    key = os.getenv("BENCH_KEY"),
    sku = os.getenv("BENCH_SKU") or "HOT-1",
    quantity = os.getenv("BENCH_QUANTITY") or "1",
    buyers = os.getenv("BENCH_BUYERS"),
  }
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k then opt[k] = v end
  end
  wrk.method = "POST"
  wrk.path = opt.path
  wrk.headers["Content-Type"] = "application/json"
  if opt.key and opt.key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. opt.key
  end
  wrk.body = string.format('{"lines":[{"sku":"%s","quantity":%d}],"ttl_seconds":900}',
                           opt.sku, tonumber(opt.quantity))
  local buyers = tonumber(opt.buyers or "")
  if buyers and buyers > 0 then
    local prefix = string.format('{"lines":[{"sku":"%s","quantity":%d}],"ttl_seconds":900,'
                                 .. '"buyer":"b', opt.sku, tonumber(opt.quantity))
    math.randomseed(os.time())
    request = function()
      return wrk.format(nil, nil, nil, prefix .. math.random(buyers) .. '"}')
    end
  end
end

function response(status, headers, body)
  if status == 201 then
    s201 = s201 + 1
  elseif status == 409 then
    s409 = s409 + 1
  else
    sother = sother + 1
  end
end

function done(summary, latency, requests)
  local c201, c409, cother = 0, 0, 0
  for _, t in ipairs(threads) do
    c201 = c201 + t:get("s201")
    c409 = c409 + t:get("s409")
    cother = cother + t:get("sother")
  end
  local e = summary.errors
  local ms = function(p) return latency:percentile(p) / 1000.0 end
  io.write(string.format(
    '{"duration_s":%.3f,"requests":%d,"status_201":%d,"status_409":%d,"status_other":%d,'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
    .. '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"p99.9":%.3f,"max":%.3f,"mean":%.3f}}\n',
    summary.duration / 1e6, summary.requests, c201, c409, cother,
    e.connect, e.read, e.write, e.status, e.timeout,
    ms(50), ms(90), ms(99), ms(99.9), latency.max / 1000.0, latency.mean / 1000.0))
end
