-- A 0.x-style plugin laid out as community plugins were: sources under
-- src/, mapped to Kong's module names by the rockspec.
package = "kong-plugin-jwt-crafter"
version = "1.0-0"
source = {
  url = "git://example.invalid/kong-plugin-jwt-crafter",
  tag = "1.0.0",
}
description = {
  summary = "Crafts a JWT for the consumer an authentication plugin identified.",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "lua-resty-jwt >= 0.1.10",
}
build = {
  type = "builtin",
  modules = {
    ["kong.plugins.jwt-crafter.handler"] = "src/handler.lua",
    ["kong.plugins.jwt-crafter.schema"] = "src/schema.lua",
    ["kong.plugins.jwt-crafter.claims"] = "src/claims.lua",
  },
}
