-- The 0.x schema form: fields by name, no_consumer, func and self_check.
local function check_header(value)
  if value and value:find("^x%-") == nil then
    return false, "header must start with x-"
  end
  return true
end

return {
  no_consumer = true,
  fields = {
    expires_in = { type = "number", default = 8 * 60 * 60 },
    header = { type = "string", required = true, default = "x-crafted", func = check_header },
    mode = { type = "string", default = "header", enum = { "header", "exit" } },
    scopes = { type = "array", enum = { "read", "write" }, default = { "read" } },
    endpoint = { type = "url" },
    limits = {
      type = "table",
      schema = {
        fields = {
          per_minute = { type = "number", default = 60 },
          burst = { type = "number" },
        },
      },
    },
  },
  self_check = function(schema, conf, dao, is_updating)
    if conf.mode == "exit" and conf.expires_in > 86400 then
      return false, { message = "exit mode tokens last at most a day" }
    end
    return true
  end,
}
