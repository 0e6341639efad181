-- A helper module of the crafter fixture, mapped by the rockspec. It
-- counts its loads in a global of the state: a state loads it once.
local util = {}

crafter_util_loads = (crafter_util_loads or 0) + 1

function util.loads()
  return crafter_util_loads
end

function util.tag(prefix, value)
  return prefix .. ":" .. tostring(value)
end

return util
