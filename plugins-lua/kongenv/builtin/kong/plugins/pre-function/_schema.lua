-- The configuration of pre-function and post-function (Kong's serverless
-- plugins): for each phase, an array of Lua code strings, each checked to
-- compile.
return function(plugin_name)
  local typedefs = require "kong.db.schema.typedefs"

  local function compiles(code)
    local _, err = loadstring(code)
    if err then
      return false, "error parsing " .. plugin_name .. ": " .. err
    end
    return true
  end

  local function phase_functions()
    return {
      required = true,
      default = {},
      description = "Custom functions, which can be user-defined, are cached and executed sequentially during specific phases: `certificate`, `rewrite`, `access`, `header_filter`, `body_filter`, and `log`.",
      type = "array",
      elements = { type = "string", required = false, custom_validator = compiles },
    }
  end

  return {
    name = plugin_name,
    fields = {
      { consumer = typedefs.no_consumer },
      { protocols = typedefs.protocols },
      { config = {
          type = "record",
          fields = {
            { certificate = phase_functions() },
            { rewrite = phase_functions() },
            { access = phase_functions() },
            { header_filter = phase_functions() },
            { body_filter = phase_functions() },
            { log = phase_functions() },
          },
      } },
    },
    entity_checks = {
      { at_least_one_of = { "config.certificate", "config.rewrite", "config.access",
                            "config.header_filter", "config.body_filter", "config.log" } },
    },
  }
end
