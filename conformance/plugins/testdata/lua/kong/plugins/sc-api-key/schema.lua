local typedefs = require "kong.db.schema.typedefs"

return {
  name = "sc-api-key",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { keys = { type = "array", required = true, elements = { type = "string" } } },
          { header = { type = "string", default = "x-api-key" } },
        },
    } },
  },
}
