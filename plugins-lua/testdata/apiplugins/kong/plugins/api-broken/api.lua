-- Kong's endpoint generators are not offered by Gatehouse.
local endpoints = require "kong.api.endpoints"

return {
  ["/api-broken"] = { GET = endpoints.get_collection_endpoint },
}
