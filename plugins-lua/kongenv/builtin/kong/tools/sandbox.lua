-- kong.tools.sandbox: runs untrusted code (the serverless plugins'
-- configuration) with only the functions Kong's sandbox allows: the kong
-- PDK, ngx, and the side-effect-free parts of the standard library. Code
-- cannot reach the host's globals, load code or modules, touch files or
-- run programs; the globals it sets stay in its own environment.
local _M = {}

local function copy(t, names)
  local out = {}
  for _, n in ipairs(names) do
    out[n] = t[n]
  end
  return out
end

local function environment()
  local env = {
    kong = kong,
    ngx = ngx,
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    pcall = pcall, print = print, select = select, tonumber = tonumber,
    tostring = tostring, type = type, unpack = unpack, xpcall = xpcall,
    string = copy(string, { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
                            "match", "rep", "reverse", "sub", "upper" }),
    table = copy(table, { "concat", "insert", "maxn", "remove", "sort" }),
    math = copy(math, { "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg", "exp",
                        "floor", "fmod", "frexp", "huge", "ldexp", "log", "log10", "max", "min",
                        "modf", "pi", "pow", "rad", "random", "sin", "sinh", "sqrt", "tan", "tanh" }),
    os = copy(os, { "clock", "date", "difftime", "time" }),
  }
  env._G = env
  return env
end

-- sandbox compiles code and returns a function running it in a fresh
-- sandbox environment, or nil and the compilation error.
function _M.sandbox(code)
  local fn, err = loadstring(code, "=(sandbox)")
  if not fn then
    return nil, err
  end
  return setfenv(fn, environment())
end

-- parse compiles code without running it (configuration checks).
function _M.parse(code)
  local fn, err = loadstring(code, "=(sandbox)")
  if not fn then
    return nil, err
  end
  return fn
end

return _M
