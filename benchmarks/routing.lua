-- wrk script for benchmarks/routing.py: POST the same JSON body (one valid demo row) on every
-- request, count non-2xx responses and responses that nginx routed to another upstream than
-- the expected one, and print a parseable summary.
--
--   wrk -t2 -c32 -d10s --latency -s benchmarks/routing.lua URL -- BODY_FILE [UPSTREAM]
--
-- BODY_FILE holds the request body. UPSTREAM (optional, e.g. "127.0.0.1:18001") is the value
-- X-Shipyard-Upstream must carry; responses with another value count as "other" (responses
-- without the header, e.g. straight from a server, count as "noheader"). Without BODY_FILE it
-- sends GET requests. The final line starts with "SHIPYARD " and holds key=value pairs;
-- latencies are in microseconds.

local threads = {}
local req = nil
local expected = nil
non2xx = 0 -- globals: done() reads them per thread with thread:get
other = 0
noheader = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  expected = args[2]
  if path and #path > 0 then
    local file = assert(io.open(path, "r"))
    local body = file:read("*a"):gsub("%s+$", "")
    file:close()
    req = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  else
    req = wrk.format("GET")
  end
end

function request()
  return req
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  local upstream = headers["X-Shipyard-Upstream"]
  if upstream == nil then
    noheader = noheader + 1
  elseif expected and upstream ~= expected then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local bad, others, missing = 0, 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    others = others + (thread:get("other") or 0)
    missing = missing + (thread:get("noheader") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    "SHIPYARD requests=%d duration_us=%d non2xx=%d other=%d noheader=%d connect=%d read=%d "
      .. "write=%d status=%d timeout=%d mean=%.1f stdev=%.1f max=%d p50=%d p90=%d p95=%d "
      .. "p99=%d\n",
    summary.requests, summary.duration, bad, others, missing, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99)))
end
