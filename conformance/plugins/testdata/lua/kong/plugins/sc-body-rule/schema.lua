local typedefs = require "kong.db.schema.typedefs"

return {
  name = "sc-body-rule",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { forbidden = { type = "string", required = true } },
        },
    } },
  },
}
