package luahost

// classicSource is kong.vendor.classic: the small class library Kong's
// BasePlugin is built on (Object:extend, :implement, :is, calling a class
// to instantiate it, which runs :new). Written for Gatehouse after the
// library's documented behaviour.
const classicSource = `
local Object = {}
Object.__index = Object

function Object:new() end

-- extend returns a subclass: metamethods are copied (Lua looks them up
-- raw), methods are inherited through __index.
function Object:extend()
  local class = {}
  for key, value in pairs(self) do
    if type(key) == "string" and key:sub(1, 2) == "__" then
      class[key] = value
    end
  end
  class.__index = class
  class.super = self
  return setmetatable(class, self)
end

-- implement copies the functions of mixins the class lacks.
function Object:implement(...)
  for _, mixin in ipairs({ ... }) do
    for key, value in pairs(mixin) do
      if self[key] == nil and type(value) == "function" then
        self[key] = value
      end
    end
  end
end

-- is reports whether self is an instance (or subclass) of class.
function Object:is(class)
  local mt = getmetatable(self)
  while mt ~= nil do
    if mt == class then
      return true
    end
    mt = getmetatable(mt)
  end
  return false
end

function Object:__tostring()
  return "Object"
end

function Object:__call(...)
  local instance = setmetatable({}, self)
  instance:new(...)
  return instance
end

return Object
`

// basePluginSource is kong.plugins.base_plugin, the base class of 0.x–2.x
// handlers: new(name) keeps the name; the phase methods are the ones
// subclasses call through H.super.<phase>(self). Kong's only log at debug
// level; Gatehouse's do nothing, and a phase a subclass does not override
// is not run at all (the host compares each method with the base's, as
// Kong's plugin iterator does).
const basePluginSource = `
local Object = require "kong.vendor.classic"
local BasePlugin = Object:extend()

function BasePlugin:new(name)
  self._name = name
end

local function noop() end

BasePlugin.init_worker = noop
BasePlugin.certificate = noop
BasePlugin.rewrite = noop
BasePlugin.access = noop
BasePlugin.response = noop
BasePlugin.header_filter = noop
BasePlugin.body_filter = noop
BasePlugin.preread = noop
BasePlugin.log = noop

return BasePlugin
`
