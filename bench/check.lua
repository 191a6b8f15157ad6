-- password-checks for sign-in: every request names an account from a pool
-- of BENCH_ACCOUNTS (bench-1@example.com ...) with the right password, or,
-- with BENCH_UNKNOWN=1, addresses no account has (the dummy verification).
-- The limits are off in this run, so every request does the bcrypt work.
local accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "1")
local unknown = os.getenv("BENCH_UNKNOWN") == "1"
local key = os.getenv("BENCH_KEY")
local counter = 0
local threads_made = 0

function setup(thread)
  thread:set("id", threads_made)
  threads_made = threads_made + 1
end

function request()
  counter = counter + 1
  local email
  if unknown then
    email = string.format("nobody-%d-%d@example.com", id, counter)
  else
    email = string.format("bench-%d@example.com", (counter * 2 + id) % accounts + 1)
  end
  local body = string.format(
    '{"email":"%s","password":"violet-kettle-jumps-47-far","client_ip":"203.0.113.7"}', email)
  return wrk.format("POST", "/internal/v1/password-checks", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, body)
end
