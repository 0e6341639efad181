local typedefs = require "kong.db.schema.typedefs"

-- Notes a consumer keeps at the desk.
return {
  {
    name = "token_desk_notes",
    primary_key = { "id" },
    cache_key = { "consumer", "text" },
    admin_api_name = "token-desk-notes",
    fields = {
      { id = typedefs.uuid },
      { created_at = typedefs.auto_timestamp_s },
      { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
      { text = { type = "string", required = true } },
      { level = { type = "integer", default = 1, between = { 1, 5 } } },
    },
  },
}
