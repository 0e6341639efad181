-- An installed plugin folder (what luarocks puts in kong/plugins/NAME),
-- copied as is into the plugins folder. Its helper is kong.plugins.installed.helper.
local helper = require "kong.plugins.installed.helper"
local Installed = { PRIORITY = 1, VERSION = "0.0.1" }

function Installed:header_filter(conf)
  test_set_response_header("x-installed", helper.value)
end

return Installed
