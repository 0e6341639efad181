-- An older release: its files are gone; the newest rockspec wins.
package = "kong-plugin-crafter"
version = "0.9-0"
build = {
  type = "builtin",
  modules = {
    ["kong.plugins.crafter.handler"] = "old/handler.lua",
    ["kong.plugins.crafter.schema"] = "old/schema.lua",
  },
}
