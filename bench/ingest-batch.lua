-- wrk script: every request POSTs a fresh batch of 25 realistic events (new
-- event ids each time, so the ingest server stores every one of them).
local counter = 0
local thread_id = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_id)
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
