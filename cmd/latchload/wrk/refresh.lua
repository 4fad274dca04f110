-- refresh.lua: refresh rotations with wrk (Debian package wrk), a load
-- generator in C that takes less of a shared machine than latchload:
--
--   latchload -url http://127.0.0.1:8080 -scenario login -signup -users 16 -c 8 -n 1
--   wrk -t8 -c8 -d10s -s cmd/latchload/wrk/refresh.lua http://127.0.0.1:8080
--
-- Run it with one connection per thread (-t N -c N, N at most the number
-- of accounts): thread i logs in as latchload-user<i>@example.com with
-- latchload's default password, then refreshes with the refresh token of
-- each answer. A refusal logs in again. wrk counts every request; the
-- script prints the answers other than 200 at the end, which must be 0.
-- wrk's latency figures include the logins: use latchload's p50/p99.

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  token = nil
  errors = 0
end

function request()
  if token == nil then
    return wrk.format("POST", "/v1/login", {["Content-Type"] = "application/json"},
      '{"email":"latchload-user' .. id .. '@example.com","password":"latchload correct horse battery staple"}')
  end
  return wrk.format("POST", "/v1/token/refresh", {["Content-Type"] = "application/json"},
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status ~= 200 then
    token = nil
    errors = errors + 1
    return
  end
  token = string.match(body, '"refresh_token":"([^"]+)"')
end

function done(summary, latency, requests)
  local e = 0
  for _, t in ipairs(threads) do
    e = e + t:get("errors")
  end
  io.write(string.format("answers other than 200: %d\n", e))
end
