-- forgot-password with a fresh address and client address per request, so
-- that no limit is reached and every request does the full work (with the
-- limits on: two counter upserts besides the row).
local counter = 0
-- `setup` runs in the main Lua state and numbers the threads; `id` is set
-- as a global in each thread's own state.
local threads_made = 0
-- Addresses differ from one run to the next (limits count per address).
local run = os.time()

function setup(thread)
  thread:set("id", threads_made)
  threads_made = threads_made + 1
end

-- BENCH_HEADERS=browser: the headers a browser's fetch() sends besides
-- these (12 in all), for what a connection costs with a browser's request.
local browser = os.getenv("BENCH_HEADERS") == "browser"

function request()
  counter = counter + 1
  local n = counter * 8 + id
  local body = string.format('{"email":"bench%d.%d.%d@example.com"}', run, id, counter)
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }
  if browser then
    headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    headers["Accept"] = "*/*"
    headers["Accept-Language"] = "en-GB,en;q=0.9"
    headers["Accept-Encoding"] = "gzip, deflate, br, zstd"
    headers["Origin"] = "https://app.example.com"
    headers["Referer"] = "https://app.example.com/forgot-password"
    headers["Sec-Fetch-Mode"] = "cors"
    headers["Sec-Fetch-Site"] = "same-site"
  end
  return wrk.format("POST", "/api/auth/forgot-password/", headers, body)
end
