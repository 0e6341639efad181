-- Gatehouse: runs one Admin API call of a plugin's api.lua the way Kong's
-- Admin API (Lapis, kong.api.api_helpers) does. Loaded once per Lua state;
-- the chunk returns {dispatch = ..., endpoints = ...}: the dispatcher,
-- called as dispatch(api, request) with the plugin's api module and the
-- request as a table, and Gatehouse's kong.api.endpoints. The request:
--   method, path (the route as api.lua declares it), uri, query (raw),
--   params (path parameters), headers (lower-case names), body (string),
--   content_type, multipart (the fields of a multipart body, or nil).
-- The answer leaves through kong.response.exit (or ngx.say), which the
-- host records; a call handed to the node's own route (Kong's parent
-- route, the generated endpoints of kong.api.endpoints) sets
-- request.__pass and leaves the same way.

local type, pairs, ipairs, tonumber, error = type, pairs, ipairs, tonumber, error
local setmetatable, next = setmetatable, next

local cjson = require "cjson.safe"

local NEEDS_BODY = { PUT = true, POST = true, PATCH = true }

-- the most query or form arguments read (the rest are dropped, as
-- ngx.req.get_uri_args and get_post_args drop them past their max)
local MAX_ARGS = 1000

-- Kong's error codes (kong.db.errors)
local CODES_400 = { [1] = true, [2] = true, [4] = true, [7] = true, [13] = true }
local CODES_409 = { [3] = true, [5] = true }

local function exit(status, body)
  return kong.response.exit(status, body)
end

-- the request of the call in progress
local current

-- pass hands the call to the node's own route for the path.
local function pass()
  if current == nil then
    error("no Admin API call is in progress", 2)
  end
  current.__pass = true
  return kong.response.exit(204)
end

local function unexpected(err)
  kong.log.err(type(err) == "table" and cjson.encode(err) or tostring(err))
  return exit(500, { message = "An unexpected error occurred" })
end

-- new_db_on_error: an error object of kong.db
local function new_db_error(err)
  if type(err) ~= "table" then
    return unexpected(err)
  end
  err.strategy = nil
  local code = err.code
  if CODES_400[code] then
    return exit(400, err)
  elseif code == 6 then
    return exit(404, err)
  elseif code == 12 then
    kong.log.err(err.message or "operation unsupported")
    return exit(405, err)
  elseif CODES_409[code] then
    return exit(409, err)
  end
  return unexpected(err)
end

-- on_error of the routes without a schema (the 0.x DAO's errors too)
local function old_dao_error(err)
  if type(err) ~= "table" then
    return unexpected(err)
  end
  if err.name then
    return new_db_error(err)
  elseif err.db then
    return unexpected(err.message)
  elseif err.unique then
    return exit(409, err.tbl)
  elseif err.foreign then
    return exit(404, err.tbl or { message = "Not found" })
  end
  return exit(400, err.tbl or err.message)
end

-- "x[1].y" -> {"x", 1, "y"}; "x[]" -> {"x", APPEND}; "x[y]" -> {"x", "y"}
local APPEND = {}
local function key_path(key, path)
  local left, idx = key:match("^(.+)%[([^%]]*)%]$")
  if left then
    key_path(left, path)
    if idx == "" then
      path[#path + 1] = APPEND
    else
      path[#path + 1] = tonumber(idx) or idx
    end
    return path
  end
  local l, r = key:match("^(.-)%.(.+)$")
  if l and l ~= "" then
    key_path(l, path)
    return key_path(r, path)
  end
  path[#path + 1] = key
  return path
end

-- normalize_nested_params: dotted and bracketed keys of a form or a
-- query become nested tables and arrays.
local function normalize(params)
  local out = {}
  for k, v in pairs(params) do
    if type(k) == "string" then
      local path = key_path(k, {})
      local node = out
      for i = 1, #path - 1 do
        local p = path[i]
        if p == APPEND then p = #node + 1 end
        if type(node[p]) ~= "table" then node[p] = {} end
        node = node[p]
      end
      local last = path[#path]
      if last == APPEND then
        if type(v) == "table" then
          for _, x in ipairs(v) do node[#node + 1] = x end
        else
          node[#node + 1] = v
        end
      else
        node[last] = v
      end
    else
      out[k] = v
    end
  end
  return out
end

local function headers_table(h)
  return setmetatable(h, {
    __index = function(t, k)
      if type(k) ~= "string" then return nil end
      local lk = k:lower():gsub("_", "-")
      if lk ~= k then return rawget(t, lk) end
    end,
  })
end

local function is_new_db(api)
  for _, route in pairs(api) do
    if type(route) == "table" and route.schema ~= nil then
      return true
    end
  end
  return false
end

-- Lapis renders what a handler returns: {status=, json=, headers=,
-- content_type=, "text"} or a string (text/html unless told).
local function render(res)
  if type(res) == "table" then
    local status = tonumber(res.status) or 200
    local headers = {}
    if type(res.headers) == "table" then
      for k, v in pairs(res.headers) do headers[k] = v end
    end
    if res.json ~= nil then
      return kong.response.exit(status, res.json, headers)
    end
    if type(res[1]) == "string" then
      headers["Content-Type"] = res.content_type or headers["Content-Type"] or "text/html"
    end
    return kong.response.exit(status, type(res[1]) == "string" and res[1] or nil, headers)
  elseif type(res) == "string" then
    return kong.response.exit(200, res, { ["Content-Type"] = "text/html" })
  end
end

-- kong.api.endpoints: the generators of Kong's entity endpoints hand the
-- call to the node's entity routes, which serve the same paths for the
-- entities of daos.lua; handle_error answers a kong.db error object.
local endpoints = {}
for _, name in ipairs({ "get_collection_endpoint", "post_collection_endpoint", "get_entity_endpoint",
                        "put_entity_endpoint", "patch_entity_endpoint", "delete_entity_endpoint" }) do
  endpoints[name] = function()
    return function()
      return pass()
    end
  end
end

function endpoints.handle_error(err_t)
  return new_db_error(err_t)
end

-- kong.api.crud_helpers (Kong 0.x): the consumer lookup runs here; the
-- CRUD functions hand the call to the node's entity routes, which serve
-- the same paths (a credential nested under its consumer).
local crud = {}

local function is_uuid(s)
  return type(s) == "string" and
    s:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
end

function crud.find_consumer_by_username_or_id(self, dao_factory, helpers)
  local key = self.params.username_or_id
  local consumer, err, err_t
  if is_uuid(key) then
    consumer, err, err_t = kong.db.consumers:select({ id = key })
  end
  if not consumer and not err then
    consumer, err, err_t = kong.db.consumers:select_by_username(key)
  end
  if err then
    return new_db_error(err_t or err)
  end
  if not consumer then
    return exit(404, { message = "Not found" })
  end
  self.params.username_or_id = nil
  self.params.consumer_id = consumer.id
  self.consumer = consumer
end

for _, name in ipairs({ "paginated_set", "post", "put", "patch", "delete", "get", "find_by_id_or_field" }) do
  crud[name] = function()
    return pass()
  end
end

local function dispatch(api, r)
  current = r
  local route = api[r.path]
  if type(route) ~= "table" then
    error("api.lua has no route " .. tostring(r.path))
  end
  local methods = route.methods or route
  local fn = methods[r.method]
  if fn == nil and r.method == "HEAD" then
    fn = methods.GET
  end
  if type(fn) ~= "function" then
    return exit(405, { message = "Method not allowed" })
  end
  local new_db = is_new_db(api)

  local ct = (r.content_type or ""):lower()
  local is_json = ct:find("application/json", 1, true) ~= nil
  local query = ngx.decode_args(r.query or "", MAX_ARGS)
  local post, json = {}, nil
  if is_json then
    if r.body ~= "" then
      json = cjson.decode(r.body)
    end
    if NEEDS_BODY[r.method] and json == nil then
      return exit(400, { message = "Cannot parse JSON body" })
    end
    if type(json) == "table" then
      post = json
    end
  elseif ct:find("application/x-www-form-urlencoded", 1, true) then
    post = ngx.decode_args(r.body or "", MAX_ARGS)
  elseif r.multipart then
    post = r.multipart
  end

  -- Lapis: the query, then a form body, then the path's parameters;
  -- json_params then adds a JSON object's keys over them all.
  local params = {}
  for k, v in pairs(query) do params[k] = v end
  if not is_json then
    for k, v in pairs(post) do params[k] = v end
  end
  for k, v in pairs(r.params) do params[k] = v end
  if is_json then
    for k, v in pairs(post) do params[k] = v end
  else
    params = normalize(params)
  end

  local self = {
    params = params,
    url_params = r.params,
    route_name = r.path,
    json = json,
    req = {
      headers = headers_table(r.headers),
      method = r.method,
      cmd_mth = r.method,
      cmd_url = r.uri,
      parsed_url = { path = r.uri, query = r.query },
      params_get = query,
      params_post = post,
    },
    args = { uri = normalize(query), post = is_json and post or normalize(post) },
  }

  local helpers = {
    responses = require "kong.tools.responses",
  }
  local on_error = new_db and new_db_error or old_dao_error
  if type(methods.on_error) == "function" then
    local custom = methods.on_error
    on_error = function(err)
      self.errors = { err }
      render(custom(self))
      -- nothing rendered: Lapis answers an empty 200; the handler
      -- does not go on after yield_error in any case
      return kong.response.exit(200)
    end
  end
  helpers.yield_error = function(err)
    return on_error(err)
  end

  local db
  if new_db then
    db = kong.db
  else
    -- Kong 1.x-3.x hand these handlers an empty table; 0.x ones their
    -- DAO factory, which Gatehouse's kong.singletons.dao stands for.
    local singletons = require "kong.singletons"
    db = singletons.dao or {}
  end

  if type(methods.before) == "function" then
    methods.before(self, db, helpers)
  end
  -- routes with a schema get Kong's parent: the node's own route
  local parent = new_db and function() return pass() end or nil
  local res, err = fn(self, db, helpers, parent)
  if err ~= nil then
    return unexpected(err)
  end
  return render(res)
end

return { dispatch = dispatch, endpoints = endpoints, crud_helpers = crud }
