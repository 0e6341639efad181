-- The handler of pre-function and post-function: each phase runs the
-- configuration's code strings in order, compiled once per configuration
-- in the sandbox (kong.tools.sandbox). A string is a function body; one
-- that returns a function (the 0.2 form, for upvalues kept across
-- requests) has that function run instead from then on.
local sandbox = require "kong.tools.sandbox"

local PHASES = { "certificate", "rewrite", "access", "header_filter", "body_filter", "log" }

local function noop() end

local function compile_phase(codes)
  if not codes or codes == ngx.null or #codes == 0 then
    return noop
  end
  local funcs = {}
  for i, code in ipairs(codes) do
    local fn = assert(sandbox.sandbox(code))
    local initialized = false
    funcs[i] = function()
      if initialized then
        return fn()
      end
      initialized = true
      local result = fn() -- may end the request (kong.response.exit)
      if type(result) == "function" then
        fn = result
        return fn()
      end
    end
  end
  return function()
    for _, f in ipairs(funcs) do
      f()
    end
  end
end

-- compiled configurations, by configuration table (weak keys)
local cache = setmetatable({}, { __mode = "k" })

local function compiled(conf)
  local c = cache[conf]
  if not c then
    c = {}
    for _, phase in ipairs(PHASES) do
      c[phase] = compile_phase(conf[phase])
    end
    cache[conf] = c
  end
  return c
end

return function(priority)
  local Serverless = { PRIORITY = priority, VERSION = "3.9.3" }

  for _, phase in ipairs(PHASES) do
    if phase ~= "certificate" then
      Serverless[phase] = function(self, conf)
        compiled(conf)[phase]()
      end
    end
  end

  return Serverless
end
