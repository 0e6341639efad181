-- Checks a header against the configured keys.
local ApiKey = { PRIORITY = 1000, VERSION = "1.0.0" }

function ApiKey:access(conf)
  local got = kong.request.get_header(conf.header)
  if not got then
    return kong.response.exit(401, { message = "No API key found in request" })
  end
  for i, key in ipairs(conf.keys) do
    if key == got then
      kong.service.request.set_header("X-Key-Index", tostring(i))
      return
    end
  end
  return kong.response.exit(403, { message = "Invalid API key" })
end

return ApiKey
