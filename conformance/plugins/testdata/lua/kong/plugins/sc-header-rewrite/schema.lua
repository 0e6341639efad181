local typedefs = require "kong.db.schema.typedefs"

return {
  name = "sc-header-rewrite",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { header = { type = "string", required = true } },
          { value = { type = "string", required = true } },
          { drop = { type = "string" } },
        },
    } },
  },
}
