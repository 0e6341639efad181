-- Echoes what the host hands api.lua handlers (fuzzed by the tests).
local cjson = require "cjson.safe"

local function echo(self)
  return kong.response.exit(200, {
    params = self.params,
    uri = self.args.uri,
    post = self.args.post,
    json = self.json ~= nil,
    body = kong.request.get_raw_body(),
  })
end

return {
  ["/echo/:word"] = { GET = echo, POST = echo, PUT = echo, PATCH = echo, DELETE = echo },
  ["/modern/:word"] = { schema = { name = "x" }, methods = { POST = echo, GET = echo } },
  ["/say"] = { GET = function() ngx.say("hi") end },
  -- not routes: a non-table value and a non-path key
  before = function() end,
  ["not-a-path"] = { GET = echo },
}
