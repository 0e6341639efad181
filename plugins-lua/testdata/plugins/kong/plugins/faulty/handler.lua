-- Faults: a Lua error, an endless loop, a Go panic, per header.
local Faulty = { PRIORITY = 1, VERSION = "1.0.0" }

local function explode(what)
  error("faulty plugin exploded: " .. what)
end

function Faulty:access(conf)
  local mode = test_get_header("x-mode")
  if mode == "error" then
    explode("on purpose")
  elseif mode == "loop" then
    local n = 0
    while true do
      n = n + 1
    end
  elseif mode == "pcall-loop" then
    while true do
      pcall(function() local x = 1 end)
    end
  elseif mode == "coroutines" then
    -- Coroutines left suspended: each is abandoned after one yield.
    for i = 1, 50 do
      local co = coroutine.wrap(function(a) coroutine.yield(a + 1) return a end)
      co(i)
    end
  elseif mode == "coroutine-loop" then
    local co = coroutine.wrap(function() while true do end end)
    co()
  elseif mode == "panic" then
    test_panic()
  elseif mode == "exit" then
    test_exit(403, "go away")
  end
  test_set_header("x-faulty", "fine")
end

return Faulty
