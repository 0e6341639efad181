-- Refuses request bodies that contain a forbidden string.
local BodyRule = { PRIORITY = 1000, VERSION = "1.0.0" }

function BodyRule:access(conf)
  local body = kong.request.get_raw_body()
  if body and body:find(conf.forbidden, 1, true) then
    return kong.response.exit(400, { message = "forbidden content" })
  end
end

return BodyRule
