-- wrk script: every request POSTs a fresh batch of 25 realistic events (new
-- event ids each time, so the ingest server stores every one of them).
--
-- With SBW_BENCH_RATE_PER_THREAD=N in its environment each wrk thread paces
-- its requests to N per second on a fixed schedule, so latency is measured at
-- a chosen load instead of at saturation, where it only reflects the queue
-- the connection count builds. wrk starts its latency clock after the pause.

local counter = 0
local thread_id = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_id)
end

local pace = os.getenv("SBW_BENCH_RATE_PER_THREAD")
if pace then
  local rate = tonumber(pace)
  if rate == nil or rate <= 0 then
    error("SBW_BENCH_RATE_PER_THREAD must be a positive number of requests per second, got " .. pace)
  end
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } sbw_timespec;
    int clock_gettime(int clock_id, sbw_timespec *tp);
  ]]
  local CLOCK_MONOTONIC = 1
  local clock = ffi.new("sbw_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
    return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
  end
  local interval_ms = 1000 / rate
  local next_send_ms = nil

  -- Called by wrk before each request. A thread that fell behind its
  -- schedule sends at once until it has caught up, keeping the average rate.
  function delay()
    local now = now_ms()
    local slot = next_send_ms or now
    next_send_ms = slot + interval_ms
    local wait = slot - now
    return wait > 0 and math.floor(wait + 0.5) or 0
  end
end

local function uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

local kinds = { "page_view", "view", "view", "click", "search", "view", "add_to_cart" }

local headers = {
  ["Content-Type"] = "text/plain;charset=UTF-8",
  ["Origin"] = "https://shop.example",
  ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  ["CloudFront-Viewer-Country"] = "VN",
}

function request()
  local now = os.date("!%Y-%m-%dT%H:%M:%S.000Z")
  local session = uuid()
  local anonymous = uuid()
  local events = {}
  for i = 1, 25 do
    local kind = kinds[(i % #kinds) + 1]
    local product = string.format("SKU-%04d", math.random(1, 400))
    events[i] = string.format(
      '{"event_id":"%s","ts":"%s","sent_at":"%s","event_type":"%s","session_id":"%s","anonymous_id":"%s",' ..
      '"page_url":"https://shop.example/products/%s?utm_source=newsletter&utm_medium=email","referrer":"https://www.google.com/",' ..
      '"device":{"type":"desktop"},"ecom":{"product_id":"%s","category":"laptops","currency":"VND","price":18990000,"qty":1},' ..
      '"props":{"position":%d,"list":"search results"}}',
      uuid(), now, now, kind, session, anonymous, product, product, i)
  end
  return wrk.format("POST", "/v1/events", headers, "[" .. table.concat(events, ",") .. "]")
end
