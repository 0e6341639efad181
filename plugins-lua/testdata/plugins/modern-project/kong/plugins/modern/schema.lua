-- The 1.x–3.x schema form with typedefs.
local typedefs = require "kong.db.schema.typedefs"

local function not_admin(value)
  if value == "admin" then
    return nil, "the admin greeting is reserved"
  end
  return true
end

return {
  name = "modern",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { greeting = { type = "string", required = true, default = "world", custom_validator = not_admin } },
          { header_name = typedefs.header_name { default = "x-greeting" } },
          { mode = { type = "string", default = "polite", one_of = { "polite", "terse" } } },
          { limits = {
              type = "record",
              fields = {
                { minute = { type = "integer", default = 60, between = { 1, 1000 } } },
                { hour = { type = "integer", gt = 0 } },
              },
          } },
          { methods = { type = "set", elements = typedefs.http_method, default = { "GET" } } },
          { upstream = typedefs.url },
          { allow = { type = "array", elements = typedefs.ip_or_cidr } },
          { peers = { type = "array", elements = typedefs.ip } },
          { labels = { type = "map", keys = { type = "string", len_min = 2 }, values = { type = "string" } } },
          { timeout = typedefs.timeout { default = 1000 } },
          { path = typedefs.path },
          { first = { type = "string" } },
          { second = { type = "string" } },
        },
        entity_checks = {
          { mutually_exclusive = { "first", "second" } },
          { custom_entity_check = {
              field_sources = { "mode", "greeting" },
              fn = function(entity)
                if entity.mode == "terse" and #entity.greeting > 5 then
                  return nil, "terse greetings are at most 5 characters"
                end
                return true
              end,
          } },
        },
    } },
  },
  entity_checks = {
    { at_least_one_of = { "config.greeting", "config.first" } },
  },
  shorthand_fields = {
    { old_greeting = { type = "string", func = function(v) return { greeting = v } end } },
  },
}
