-- A modern (Kong 2.x/3.x) handler table.
local greet = require "kong.plugins.modern.helpers.greet"

local Modern = {
  PRIORITY = 900,
  VERSION = "2.1.0",
}

local configured = "none"
local started = false

function Modern:init_worker()
  started = true
end

function Modern:configure(configs)
  if configs == nil then
    configured = "nil"
    return
  end
  configured = tostring(#configs)
end

function Modern:rewrite(conf)
  test_set_header("x-rewrite", "yes")
end

function Modern:access(conf)
  test_set_header(conf.header_name, greet.hello(conf.greeting))
  test_set_header("x-started", tostring(started))
  test_set_header("x-configured", configured)
  test_set_header("x-limit", tostring(conf.limits.minute))
end

function Modern:body_filter(conf)
  local chunk, eof = test_chunk()
  test_set_chunk(string.upper(chunk) .. (eof and "|eof" or ""))
end

function Modern:log(conf)
end

return Modern
