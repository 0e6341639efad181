local typedefs = require "kong.db.schema.typedefs"

return {
  name = "ngx-tour",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { mode = { type = "string", default = "report", one_of = { "report", "rewrite" } } },
          { upstream = { type = "string" } },
        },
    } },
  },
}
