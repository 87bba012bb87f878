-- wrk script for bench.load: one connection per thread, so request() and response() alternate
-- and each latency can be measured here and handed to bench.stats (wrk's own summary gives no
-- p95). Adds the session cookie (or an API token's Authorization header) and an Accept-Encoding
-- header if given, stops a thread after BENCH_MAX_REQUESTS responses, and prints
-- one line "BENCH-JSON {...}" with the samples, the non-200 count and the wall time used.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local cookie = os.getenv("BENCH_COOKIE") or ""
if cookie ~= "" then wrk.headers["Cookie"] = cookie end
local authorization = os.getenv("BENCH_AUTHORIZATION") or ""
if authorization ~= "" then wrk.headers["Authorization"] = authorization end
local accept_encoding = os.getenv("BENCH_ACCEPT_ENCODING") or ""
if accept_encoding ~= "" then wrk.headers["Accept-Encoding"] = accept_encoding end
local limit = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0")

local threads = {}
function setup(thread) table.insert(threads, thread) end

samples, bad, started, finished = {}, 0, 0, 0
local sent = 0

function init(args) started = now_us() end

function request()
  sent = now_us()
  return wrk.format()
end

function response(status, headers, body)
  finished = now_us()
  samples[#samples + 1] = math.floor(finished - sent)
  if status ~= 200 then bad = bad + 1 end
  if limit > 0 and #samples >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local all, elapsed, total_bad = {}, 0, 0
  for _, thread in ipairs(threads) do
    for _, sample in ipairs(thread:get("samples")) do all[#all + 1] = sample end
    total_bad = total_bad + tonumber(thread:get("bad"))
    elapsed = math.max(elapsed, tonumber(thread:get("finished")) - tonumber(thread:get("started")))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-JSON {"elapsed_us":%d,"non_200":%d,"socket_errors":%d,"samples_us":[%s]}\n',
    elapsed, total_bad, errors.connect + errors.read + errors.write + errors.timeout,
    table.concat(all, ",")))
end
