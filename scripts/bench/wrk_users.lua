-- wrk script: each request asks for PATH_TEMPLATE with `{user}` replaced by a random user id
-- from USERS_FILE (one id per line). TOKEN, when set, is sent as `Authorization: Bearer`.
--
--   curl -s 'http://127.0.0.1:8000/api/v1/users?limit=500' | python3 -c \
--     'import json,sys; print("\n".join(u["id"] for u in json.load(sys.stdin)))' > /tmp/users.txt
--   USERS_FILE=/tmp/users.txt PATH_TEMPLATE='/api/v1/recommendations/{user}/venues?limit=10' \
--     wrk -t2 -c64 -d15s -s scripts/bench/wrk_users.lua http://127.0.0.1:8000
--
-- Run the server with LUNA_RATE_LIMIT__ENABLED=false, or wrk measures the rate limiter.

local users = {}
local template = os.getenv("PATH_TEMPLATE") or "/api/v1/recommendations/{user}/venues?limit=10"
local token = os.getenv("TOKEN")

function init(args)
  local file = os.getenv("USERS_FILE") or error("set USERS_FILE to a file of user ids, one per line")
  for line in io.lines(file) do
    if line ~= "" then users[#users + 1] = line end
  end
  if #users == 0 then error("no user ids in " .. file) end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end

function request()
  local user = users[math.random(#users)]
  return wrk.format("GET", (template:gsub("{user}", user)))
end

function done(summary, latency, requests)
  io.write(string.format("requests %d, errors %d (status %d), p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
