-- The ABI probe plugin's schema: no configuration (Kong 3.x form).
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "abi-probe",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = { type = "record", fields = {} } },
  },
}
