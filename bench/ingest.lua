-- wrk script: POST realistic message updates with unique update_ids (a share re-delivered).
-- Env: SECRET (header), PATH_ (URL path), DUP_PERCENT (share of re-deliveries), ID_BASE,
-- RATE and CONNS (optional fixed total rate).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  secret = os.getenv("SECRET") or ""
  path = os.getenv("PATH_") or "/webhook/default"
  dup = tonumber(os.getenv("DUP_PERCENT") or "0")
  base = tonumber(os.getenv("ID_BASE") or "1") + tid * 10000000
  headers = {["Content-Type"] = "application/json"}
  if secret ~= "" then headers["X-Telegram-Bot-Api-Secret-Token"] = secret end
  math.randomseed(tid + 7)
  -- RATE (total updates/s over CONNS connections): each connection waits its share between
  -- requests, so latency is measured at a given load instead of at saturation.
  local rate, conns = tonumber(os.getenv("RATE") or "0"), tonumber(os.getenv("CONNS") or "1")
  pause = rate > 0 and conns * 1000 / rate or 0
end

delay = function()
  return pause
end

local template = '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,' ..
  '"chat":{"id":%d,"type":"private","first_name":"Ada"},' ..
  '"from":{"id":%d,"is_bot":false,"first_name":"Ada"},"text":"hello from the benchmark"}}'

request = function()
  local id
  if counter > 10 and math.random(100) <= dup then
    id = base + math.random(counter) - 1
  else
    id = base + counter
    counter = counter + 1
  end
  local chat = 1000 + id % 500
  return wrk.format("POST", path, headers, string.format(template, id, id, chat, chat))
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
