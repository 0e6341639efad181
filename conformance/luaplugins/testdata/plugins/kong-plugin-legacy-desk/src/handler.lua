local BasePlugin = require "kong.plugins.base_plugin"

local LegacyDesk = BasePlugin:extend()

LegacyDesk.PRIORITY = 4
LegacyDesk.VERSION = "0.2.0"

function LegacyDesk:new()
  LegacyDesk.super.new(self, "legacy-desk")
end

function LegacyDesk:access(conf)
  LegacyDesk.super.access(self)
end

return LegacyDesk
