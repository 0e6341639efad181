local typedefs = require "kong.db.schema.typedefs"

return {
  name = "sc-consumer-auth",
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
