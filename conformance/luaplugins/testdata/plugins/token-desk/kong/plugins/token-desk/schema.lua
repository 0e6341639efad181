local typedefs = require "kong.db.schema.typedefs"

return {
  name = "token-desk",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { label = { type = "string", default = "desk" } },
        },
    } },
  },
}
