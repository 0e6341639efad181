-- token-desk: a Kong 3.x-style plugin whose interest is its Admin API
-- endpoints (api.lua) over an entity of its own (daos.lua).
return {
  PRIORITY = 5,
  VERSION = "0.3.0",
  access = function(_, conf)
    kong.response.set_header("X-Desk", conf.label)
  end,
}
