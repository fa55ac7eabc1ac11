-- The rate-limit rules of craft_sdk/_rate_limit.py (`admit` and `observe`), translated line by
-- line, applied atomically to one key's budget in Redis. tests/test_rate_limit_rules.py runs the
-- same vectors against this script and against the in-process gate.
--
-- KEYS[1]  the window: a hash of known, limit, remaining, reset (the API's, Unix seconds) and
--          reset_at (the same instant on Redis's clock)
-- KEYS[2]  the requests in flight: a sorted set of lease ids, scored by when each expires
-- ARGV[1]  "admit"; "release" (no answer came); or "observe" (release, and take in the answer)
-- ARGV[2]  the lease id
-- ARGV[3]  how long a lease lasts, seconds
-- ARGV[4]  "now" for the tests' vectors; the SDK always sends "", and Redis's TIME is used
-- ARGV[5]  for "admit": "1" when the request insists (it has waited long enough for the answers
--          of requests in flight: see `admit`), else ""
-- ARGV[5..9] for "observe": the answer's limit, remaining, reset, server time (its Date) and,
--          for a 429 that says the budget is spent, the wait it asked for; "" where it said none
--
-- Returns the verdict ("go", "0" for "ask again soon", or the seconds until the reset; "" after
-- a release), then the window's limit, remaining and reset ("" for unknown).

-- Before Redis 7, a script that reads TIME must ask for its effects to be replicated, not itself.
if redis.replicate_commands then
  redis.replicate_commands()
end

-- Kept after the reset, so that a window's budget outlives a short quiet spell.
local KEEP_AFTER_RESET = 60
-- Kept while no reset is known (an API that reports no limit, or a spent one with no reset).
local KEEP_WITHOUT_RESET = 600
-- The longest a lease may last (craft_sdk/redis.py checks lease_seconds against it): a lease
-- expiring later than that is garbage, whatever lease time each process sharing the key chose.
local MAX_LEASE = 3600

local function number(value)
  local parsed = tonumber(value)
  if parsed == nil or parsed ~= parsed or parsed == math.huge or parsed == -math.huge then
    return nil -- junk, NaN or infinite: unknown
  end
  return parsed
end

local function text(value)
  if value == nil then
    return ""
  end
  return string.format("%.17g", value)
end

local window_key, leases_key = KEYS[1], KEYS[2]
local verb, lease, lease_seconds = ARGV[1], ARGV[2], number(ARGV[3])

local now = number(ARGV[4])
if now == nil then
  local time = redis.call("TIME")
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end

-- A key that holds something else (garbage, or another program's data under the prefix) is
-- dropped: the budget is learned again from the next answer.
for key, kind in pairs({ [window_key] = "hash", [leases_key] = "zset" }) do
  local found = redis.call("TYPE", key)["ok"]
  if found ~= kind and found ~= "none" then
    redis.call("DEL", key)
  end
end

local stored = redis.call("HMGET", window_key, "known", "limit", "remaining", "reset", "reset_at")
local known = stored[1] == "1"
local limit, remaining, reset, reset_at =
  number(stored[2]), number(stored[3]), number(stored[4]), number(stored[5])

-- Leases past their expiry belong to requests that ended without a release (a killed process);
-- one expiring further off than any lease lasts cannot be ours.
redis.call("ZREMRANGEBYSCORE", leases_key, "-inf", "(" .. text(now))
redis.call("ZREMRANGEBYSCORE", leases_key, "(" .. text(now + MAX_LEASE), "+inf")
local in_flight = redis.call("ZCARD", leases_key)

local verdict = ""
if verb == "admit" then
  -- admit()
  if not known then
    verdict = in_flight == 0 and "go" or "0"
  else
    if reset_at ~= nil and now >= reset_at then
      remaining, reset_at = limit, nil
    end
    if remaining == nil or remaining > in_flight then
      verdict = "go"
    elseif reset_at == nil then
      verdict = in_flight == 0 and "go" or "0"
    else
      local wait = reset_at - now
      if in_flight > 0 then
        -- A killed process's leases hold budget until they expire: count again then at the
        -- latest.
        local first = redis.call("ZRANGE", leases_key, 0, 0, "WITHSCORES")
        wait = math.min(wait, math.max(tonumber(first[2]) - now, 0))
      end
      verdict = text(wait)
    end
  end
  if verdict == "0" and ARGV[5] == "1" then
    verdict = "go"
  end
  if verdict == "go" then
    redis.call("ZADD", leases_key, now + lease_seconds, lease)
    redis.call("PEXPIRE", leases_key, math.ceil((lease_seconds + 1) * 1000))
  end
else
  redis.call("ZREM", leases_key, lease)
end

if verb == "observe" then
  -- observe()
  local seen_limit, seen_remaining, seen_reset, server_now, spent_for =
    number(ARGV[5]), number(ARGV[6]), number(ARGV[7]), number(ARGV[8]), number(ARGV[9])
  local said_nothing = seen_limit == nil and seen_remaining == nil and seen_reset == nil
    and server_now == nil and spent_for == nil
  if said_nothing then
    known = true
  elseif not (seen_reset ~= nil and reset ~= nil and seen_reset < reset) then
    local new_remaining = remaining
    if seen_remaining ~= nil then
      new_remaining = math.max(seen_remaining, 0)
      local same_window = seen_reset == reset and (seen_limit == nil or seen_limit == limit)
      if seen_reset ~= nil and same_window and remaining ~= nil then
        new_remaining = math.min(remaining, new_remaining)
      end
    end
    local new_reset_at = nil
    if seen_reset ~= nil then
      local wait = seen_reset - (server_now or now)
      if wait > 0 then
        new_reset_at = now + wait
      end
    end
    if spent_for ~= nil then
      new_remaining = 0
      local refused_until = now + spent_for
      if new_reset_at == nil or refused_until > new_reset_at then
        new_reset_at = refused_until
      end
    end
    known = true
    limit = seen_limit or limit
    remaining, reset, reset_at = new_remaining, seen_reset, new_reset_at
  end
end

if known then
  redis.call("HSET", window_key, "known", "1", "limit", text(limit), "remaining", text(remaining),
    "reset", text(reset), "reset_at", text(reset_at))
  local keep = KEEP_WITHOUT_RESET
  if reset_at ~= nil then
    keep = reset_at - now + KEEP_AFTER_RESET
  end
  redis.call("PEXPIRE", window_key, math.ceil(keep * 1000))
end

return { verdict, text(limit), text(remaining), text(reset) }
