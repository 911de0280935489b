-- wrk script for benchmarks/http_service.py: POSTs the JSON bodies of a file (one a
-- line) in turn from body START on, each thread starting at its own place, with the
-- API key from VIGIL_BENCH_KEY. Every response must be a 200 whose "results"
-- hold exactly the number of queries each body sends; done() prints one line,
-- "vigil-bench {json}", with the latency percentiles (microseconds) and counts.
--
--   VIGIL_BENCH_KEY=... wrk -c16 -d15s -s http_post.lua URL/match -- BODIES QUERIES_PER_BODY START

local threads = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    table.insert(bodies, line)
  end
  expected = tonumber(args[2])
  position = (tonumber(args[3]) + number * 7919) % #bodies
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("VIGIL_BENCH_KEY"),
  }
  ok, not_ok, short, queries, hits = 0, 0, 0, 0, 0
end

function request()
  position = position % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[position])
end

local function occurrences(text, needle)
  local count, from = 0, 1
  while true do
    local found = string.find(text, needle, from, true)
    if not found then
      return count
    end
    count, from = count + 1, found + #needle
  end
end

function response(status, _, body)
  if status ~= 200 then
    not_ok = not_ok + 1
    return
  end
  ok = ok + 1
  -- Each result carries "query_id" once and each hit "entry_id" once.
  local results = occurrences(body, '"query_id":')
  if results ~= expected then
    short = short + 1
  end
  queries = queries + results
  hits = hits + occurrences(body, '"entry_id":')
end

function done(summary, latency, _)
  local totals = {ok = 0, not_ok = 0, short = 0, queries = 0, hits = 0}
  for _, thread in ipairs(threads) do
    for name in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'vigil-bench {"duration_us": %d, "requests": %d, "bytes": %d, "ok": %d, "not_ok": %d, "short": %d, '
      .. '"queries": %d, "hits": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.duration, summary.requests, summary.bytes, totals.ok, totals.not_ok, totals.short,
    totals.queries, totals.hits, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
