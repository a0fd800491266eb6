-- wrk script for benchmarks/serving.py: POST one JSON body per request, rotating through the
-- bodies in a file (one body per line), count non-2xx responses, print a parseable summary.
--
--   wrk -t2 -c32 -d15s --latency -s benchmarks/serving.lua URL -- BODIES_FILE
--
-- Without a bodies file it sends GET requests (used to measure wrk's own capacity against a
-- trivial endpoint). The final line starts with "SHIPYARD " and holds key=value pairs;
-- latencies are in microseconds.

local threads = {}
local requests = {}
local index = 0
non2xx = 0 -- global: done() reads it per thread with thread:get

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  local headers = {["Content-Type"] = "application/json"}
  if path then
    local file = assert(io.open(path, "r"))
    for line in file:lines() do
      if #line > 0 then
        table.insert(requests, wrk.format("POST", nil, headers, line))
      end
    end
    file:close()
  end
  if #requests == 0 then
    table.insert(requests, wrk.format("GET"))
  end
  -- threads start at different offsets, so they do not send the same row in lockstep
  index = math.random(#requests) - 1
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    "SHIPYARD requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d "
      .. "status=%d timeout=%d mean=%.1f max=%d p50=%d p90=%d p95=%d p99=%d\n",
    summary.requests, summary.duration, bad, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency.mean, latency.max, latency:percentile(50),
    latency:percentile(90), latency:percentile(95), latency:percentile(99)))
end
