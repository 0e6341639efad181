-- A 0.x–2.x style handler: BasePlugin class, super calls, PRIORITY on
-- the class.
local BasePlugin = require "kong.plugins.base_plugin"
local util = require "kong.plugins.crafter.util"

local Crafter = BasePlugin:extend()

Crafter.PRIORITY = 10
Crafter.VERSION = "1.0.0"

local instances = 0

function Crafter:new()
  Crafter.super.new(self, "crafter")
  instances = instances + 1
end

function Crafter:access(conf)
  Crafter.super.access(self)
  local got = test_get_header("x-user") or "anonymous"
  test_set_header(conf.header, util.tag(self._name, got) .. ":" .. conf.expires_in)
  test_set_header("x-crafter-instances", tostring(instances))
  test_set_header("x-util-loads", tostring(util.loads()))
  if conf.mode == "exit" then
    return test_exit(200, '{"crafted":"' .. got .. '"}')
  end
end

function Crafter:log(conf)
  Crafter.super.log(self)
end

return Crafter
