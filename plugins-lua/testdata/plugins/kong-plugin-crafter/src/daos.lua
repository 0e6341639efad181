-- A plugin-owned entity in the 1.x/2.x daos.lua form.
local typedefs = require "kong.db.schema.typedefs"

return {
  crafter_keys = {
    name = "crafter_keys",
    primary_key = { "id" },
    endpoint_key = "key",
    cache_key = { "key" },
    admin_api_name = "crafter-keys",
    fields = {
      { id = typedefs.uuid },
      { created_at = typedefs.auto_timestamp_s },
      { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
      { key = { type = "string", required = true, unique = true } },
      { tags = typedefs.tags },
    },
  },
}
