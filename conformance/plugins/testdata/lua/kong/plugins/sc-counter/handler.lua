-- Counts each user's requests (a header names the user) in the node's
-- shared dictionary and reports the count.
local Counter = { PRIORITY = 1000, VERSION = "1.0.0" }

function Counter:access(conf)
  local user = kong.request.get_header(conf.header) or ""
  local n, err = ngx.shared.kong:incr("sc-counter:" .. user, 1, 0)
  if not n then
    return kong.response.error(500, err)
  end
  kong.response.set_header("X-Count", tostring(n))
end

return Counter
