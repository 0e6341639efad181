-- Tries what the sandbox forbids; reports each outcome in a header.
local Sandbox = { PRIORITY = 1, VERSION = "1.0.0" }

local function try(name, fn)
  local ok, err = pcall(fn)
  test_set_header("x-" .. name, ok and "allowed" or "refused")
end

function Sandbox:access(conf)
  try("os-execute", function() return os.execute("true") end)
  try("io-popen", function() return io.popen("true") end)
  try("os-exit", function() return os.exit(1) end)
  try("os-remove", function() return os.remove("/tmp/nothing") end)
  try("loadlib", function() return package.loadlib("x", "y") end)
  try("debug-getinfo", function() return debug.getinfo(1) end)
  try("write-outside", function() assert(io.open(conf.outside, "w")) end)
  try("write-prefix", function() local f = assert(io.open(conf.inside, "w")); f:write("ok"); f:close() end)
  try("dofile-outside", function() return dofile("/etc/hostname") end)
  try("dofile-inside", function() return dofile("data.lua") end)
  try("os-time", function() return os.time() end)
  try("traceback", function() return debug.traceback("x") end)
end

return Sandbox
