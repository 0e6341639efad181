-- gui-greeter's schema exercises every kind of field Kong Manager has to
-- generate a form for: a required string, an integer with bounds and a
-- default, a one_of choice, a boolean, a set of strings and a nested
-- record.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "gui-greeter",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = { type = "record", fields = {
        { greeting = { type = "string", required = true,
            description = "The text sent back in the X-Greeting header." } },
        { times = { type = "integer", default = 1, between = { 1, 5 } } },
        { style = { type = "string", default = "plain", one_of = { "plain", "loud" } } },
        { enabled_header = { type = "boolean", default = true } },
        { extra = { type = "set", elements = { type = "string" } } },
        { signature = { type = "record", fields = {
            { name = { type = "string", default = "gatehouse" } },
        } } },
    } } },
  },
}
