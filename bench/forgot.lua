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

function request()
  counter = counter + 1
  local n = counter * 8 + id
  local body = string.format('{"email":"bench%d.%d.%d@example.com"}', run, id, counter)
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("POST", "/api/auth/forgot-password/", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }, body)
end
