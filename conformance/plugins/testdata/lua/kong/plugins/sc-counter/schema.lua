local typedefs = require "kong.db.schema.typedefs"

return {
  name = "sc-counter",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { header = { type = "string", default = "x-user" } },
        },
    } },
  },
}
