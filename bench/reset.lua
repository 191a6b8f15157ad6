-- reset-password, each request with its own link (tokens.txt, one JWT a
-- line, written by bench/run); a link is used once.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  tokens[#tokens + 1] = line
end
-- `setup` runs in the main Lua state and numbers the threads; `id` is set
-- as a global in each thread's own state.
local threads_made = 0
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")

function setup(thread)
  thread:set("id", threads_made)
  threads_made = threads_made + 1
end

local next_index = nil

function request()
  if next_index == nil then next_index = id + 1 end
  local token = tokens[next_index] or "used-up"
  next_index = next_index + threads
  local body = string.format(
    '{"token":"%s","new_password":"violet-kettle-jumps-47-far","confirm_password":"violet-kettle-jumps-47-far"}',
    token)
  return wrk.format("POST", "/api/auth/reset-password/", {
    ["Content-Type"] = "application/json",
  }, body)
end
