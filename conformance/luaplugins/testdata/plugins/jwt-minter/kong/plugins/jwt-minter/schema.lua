local typedefs = require "kong.db.schema.typedefs"

return {
  name = "jwt-minter",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { expires_in = { type = "integer", default = 28800, gt = 0 } },
        },
    } },
  },
}
