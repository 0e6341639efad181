package = "kong-plugin-crafter"
version = "1.0-0"

source = {
  url = "git://example.invalid/kong-plugin-crafter",
  tag = "v1.0",
}

description = {
  summary = "Gatehouse test fixture: a 0.x-style plugin laid out with a rockspec.",
  license = "Apache 2.0",
}

dependencies = {
  "lua ~> 5.1",
}

local pluginName = "crafter"

build = {
  type = "builtin",
  modules = {
    ["kong.plugins." .. pluginName .. ".handler"] = "src/handler.lua",
    ["kong.plugins." .. pluginName .. ".schema"] = "src/schema.lua",
    ["kong.plugins." .. pluginName .. ".util"] = { "src/util.lua" },
    ["kong.plugins." .. pluginName .. ".daos"] = "src/daos.lua",
  },
}
