-- wrk script for bench/e2e.py saturation rows: unique update_ids spread over CHATS chats.
-- Env: SECRET (header), ID_BASE, CHATS. Each thread owns its own id range.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local secret = os.getenv("SECRET") or ""
  chats = tonumber(os.getenv("CHATS") or "500")
  base = tonumber(os.getenv("ID_BASE") or "1")
  first = base + tid * 10000000
  headers = {["Content-Type"] = "application/json"}
  if secret ~= "" then headers["X-Telegram-Bot-Api-Secret-Token"] = secret end
end

local template = '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,' ..
  '"chat":{"id":%d,"type":"private","first_name":"Ada"},' ..
  '"from":{"id":%d,"is_bot":false,"first_name":"Ada"},"text":"hello from e2e"}}'

request = function()
  local id = first + counter
  counter = counter + 1
  local chat = 1000 + (id - base) % chats
  return wrk.format("POST", nil, headers, string.format(template, id, id, chat, chat))
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
