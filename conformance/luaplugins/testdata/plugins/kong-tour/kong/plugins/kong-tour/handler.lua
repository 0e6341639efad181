-- kong-tour calls the kong PDK functions beyond the host ABI's operation
-- table (kong.table, kong.log.inspect, kong.request's helpers,
-- kong.configuration, kong.cache's probe, ngx.ctx's authenticated_*,
-- kong.singletons, kong.plugins.acl.groups) inside a real request, and
-- answers with what each gave.
local cjson = require "cjson"
local groups = require "kong.plugins.acl.groups"
local singletons = require "kong.singletons"

local Tour = { PRIORITY = 900, VERSION = "1.0.0" }

local function load_label(label)
  return { label = label }
end

function Tour:access(conf)
  local r = {}
  local t = kong.table.new(2, 1)
  t[1] = "x"
  kong.table.clear(t)
  r.table = { cleared = next(t) == nil, merged = kong.table.merge({ a = 1 }, { b = 2 }).b }
  r.inspect = pcall(kong.log.inspect, { a = 1 })
  r.request = {
    path_with_query = kong.request.get_path_with_query(),
    start = kong.request.get_start_time() > 0,
    forwarded_path = kong.request.get_forwarded_path(),
  }
  local body, err, mime = kong.request.get_body()
  r.body = { name = body and body.name, mime = mime, err = err }
  r.configuration = { database = kong.configuration.database, has_plugins = type(kong.configuration.plugins) == "table" }
  local key = "kong-tour:" .. conf.label
  local v = kong.cache:get(key, nil, load_label, conf.label)
  local ttl, cerr, value = kong.cache:probe(key)
  r.cache = { label = v.label, probed = value and value.label, err = cerr }
  kong.cache:invalidate(key)
  local _, _, gone = kong.cache:probe(key)
  r.cache.invalidated = gone == nil
  -- authenticate through ngx.ctx, as 0.x plugins did
  local consumer = kong.client.load_consumer("tourist", true)
  ngx.ctx.authenticated_consumer = consumer
  ngx.ctx.authenticated_credential = { id = "cred-1", consumer_id = consumer.id }
  r.identity = { consumer = kong.client.get_consumer().username, credential = kong.client.get_credential().id }
  local g = groups.get_consumer_groups(consumer.id)
  r.groups = { first = g and g[1], by_name = g and g.travellers }
  local rows = singletons.dao.acls:find_all({ consumer_id = consumer.id })
  r.singletons = { count = #rows, group = rows[1] and rows[1].group, legacy_fk = rows[1] and rows[1].consumer_id == consumer.id }
  return kong.response.exit(200, r)
end

return Tour
