-- A per-consumer counter in a shared dict with a window TTL, the way
-- rate-limiting style plugins use ngx.shared.
local dict = ngx.shared.counters
assert(dict, "dict missing")

local function hit(consumer, limit)
  local key = "rl:" .. consumer
  local n, err = dict:incr(key, 1, 0, 60)
  assert(n, err)
  return n <= limit, n
end

for i = 1, 3 do
  local allowed, n = hit("alice", 3)
  assert(allowed and n == i, "hit " .. i)
end
local allowed, n = hit("alice", 3)
assert(not allowed and n == 4)
assert(hit("bob", 3))

local ttl = assert(dict:ttl("rl:alice"))
assert(ttl > 0 and ttl <= 60, "ttl " .. ttl)
local keys = dict:get_keys()
assert(#keys == 2, "keys " .. #keys)
return "ok"
