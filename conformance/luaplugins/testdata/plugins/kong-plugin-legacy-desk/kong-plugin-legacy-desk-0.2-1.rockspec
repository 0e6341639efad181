-- A 0.x-style plugin with an Admin API of its own (api.lua), laid out
-- as community plugins were: sources under src/, mapped by the rockspec.
package = "kong-plugin-legacy-desk"
version = "0.2-1"
source = {
  url = "git://example.invalid/kong-plugin-legacy-desk",
  tag = "0.2.0",
}
description = {
  summary = "Lists a consumer's groups and greets it, through the Admin API.",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
}
build = {
  type = "builtin",
  modules = {
    ["kong.plugins.legacy-desk.handler"] = "src/handler.lua",
    ["kong.plugins.legacy-desk.schema"] = "src/schema.lua",
    ["kong.plugins.legacy-desk.api"] = "src/api.lua",
  },
}
