local typedefs = require "kong.db.schema.typedefs"

return {
  name = "kong-tour",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = { type = "record", fields = {
        { label = { type = "string", default = "tour" } },
    } } },
  },
}
