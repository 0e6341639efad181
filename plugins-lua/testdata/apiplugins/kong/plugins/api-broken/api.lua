-- Kong 0.x's CRUD helpers are not offered by Gatehouse.
local crud = require "kong.api.crud_helpers"

return {
  ["/api-broken"] = { GET = function(self, dao_factory) crud.paginated_set(self, dao_factory.consumers) end },
}
