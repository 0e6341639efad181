-- Kong's Admin API argument parser is not offered by Gatehouse.
local arguments = require "kong.api.arguments"

return {
  ["/api-broken"] = { GET = function(self) return kong.response.exit(200, arguments.load(self)) end },
}
