local typedefs = require "kong.db.schema.typedefs"

return {
  name = "sc-exit",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { status = { type = "integer", required = true } },
          { body = { type = "string", required = true } },
          { content_type = { type = "string", default = "text/plain" } },
        },
    } },
  },
}
