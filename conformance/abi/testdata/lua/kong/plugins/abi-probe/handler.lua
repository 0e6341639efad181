-- The ABI probe plugin, written as a Kong 3.x plugin: for the request's
-- X-Abi-Probe header ("<operation>/<phase>[/<variant>|/out_of_phase]"), it
-- performs in that phase the Lua (Kong PDK) version of the probe of
-- conformance/abi/probes.go and reports, through the test's
-- "abi.recorder" module, that it reached the operation (called) and what
-- it observed once the operation returned (returned). The observations
-- are built exactly as the Go probes build theirs; lua_test.go's table
-- says how each operation is spelled in Lua.

local recorder = require "abi.recorder"
local http = require "resty.http"

-- The plugin's name, as Kong's plugin template derives it from the module
-- path (Kong's Lua PDK has no kong.plugin.get_name).
local PLUGIN_NAME = (...):match("^kong%.plugins%.([^%.]+)%.handler$")

-- The fixed world of conformance/abi (abi.go).
local CONSUMER_NAME = "abi-user"
local CREDENTIAL_KEY = "abi-key"
local UPSTREAM_NAME = "abi-upstream"
local UPSTREAM_HEADER = "X-Upstream"

-- Renderings shared with probes.go (fmt.Sprint's, str, field, ...).

-- s renders a value as fmt.Sprint does for the values probes meet.
local function s(v)
  if v == nil then
    return "<nil>"
  end
  return tostring(v)
end

-- str is probes.go's str: "absent" for nothing.
local function str(v)
  if v == nil then
    return "absent"
  end
  return tostring(v)
end

local function positive(n)
  n = tonumber(n) or 0
  if n > 0 then
    return "positive"
  end
  return tostring(n)
end

-- field is probes.go's field: "nil" for no entity.
local function field(e, name)
  if e == nil then
    return "nil"
  end
  return s(e[name])
end

-- errtext is probes.go's errText. A Lua error raised by the PDK carries
-- the caller's "chunk:line: " position, which a Go error has not.
local function errtext(err)
  if err == nil then
    return ""
  end
  err = tostring(err):gsub("^[^:\n]+:%d+: ", "")
  return " error: " .. err
end

-- dberr is probes.go's dbErrText over kong.db's err, err_t.
local function dberr(err, err_t)
  if err == nil then
    return "no error"
  end
  if type(err_t) == "table" and err_t.code then
    return err_t.code .. " " .. err_t.name
  end
  return "not a DBError: " .. tostring(err)
end

-- joined renders a header or argument value: a string, or an array.
local function joined(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do
      parts[i] = tostring(x)
    end
    return table.concat(parts, ",")
  end
  if v == nil then
    return ""
  end
  return tostring(v)
end

-- sorted_values is probes.go's sortedValues.
local function sorted_values(m)
  local keys = {}
  for k in pairs(m) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    out[#out + 1] = k .. "=" .. joined(m[k]) .. ";"
  end
  return table.concat(out)
end

local function nonce()
  return kong.request.get_header("X-Abi-Nonce") or ""
end

-- a consumer id no probe ever creates
local function unknown_id()
  return "00000000-0000-4000-8000-" .. nonce():sub(1, 12)
end

local function same(e, name, label)
  if field(e, "username") == name then
    return label
  end
  return "not " .. name
end

local function nil_or(e)
  if e == nil then
    return "nil"
  end
  return "an entity"
end

local function cache_key(name)
  return "abi:" .. nonce() .. ":" .. name
end

-- cache_get is kong.cache:get with a loader that notes that it ran: "load"
-- when it did (this caller loaded), "found <value>" on a hit.
local function cache_get(key, value, err)
  local loaded = false
  local v = kong.cache:get(key, { ttl = 60, neg_ttl = 60 }, function()
    loaded = true
    return value, err
  end)
  if loaded then
    return "load"
  end
  return "found " .. s(v)
end

-- cache_peek is hostabi's Cache.Get: kong.cache:probe, which reads without
-- loading ("absent", or the value, "<nil>" for a negative entry).
local function cache_peek(key)
  local ttl, _, v = kong.cache:probe(key)
  if ttl == nil then
    return "absent"
  end
  return s(v)
end

local function target()
  return "http://" .. kong.request.get_header("X-Abi-Target")
end

-- Probes that end the handler: kong.response.exit and error never return
-- in Kong (the handler ends; later plugins are skipped). They report what
-- they observed before the call with recorder.exiting; the host counts it
-- returned when the handler then ended by the exit, not by a fault.
local function ending(obs, fn)
  return function(name, out_of_phase)
    if not out_of_phase then
      recorder.exiting(name, obs)
    end
    fn()
    return "handler went on after an exit"
  end
end

-- P maps "<operation>[/<variant>]" to the Lua probe; each returns the
-- observed string.
local P = {}

-- kong.request
P["kong.request.get_scheme"] = function() return kong.request.get_scheme() end
P["kong.request.get_host"] = function() return kong.request.get_host() end
P["kong.request.get_port"] = function() return positive(kong.request.get_port()) end
P["ngx.var"] = function()
  local scheme = ngx.var.scheme
  local reqs = tonumber(ngx.var.connection_requests) or 0
  local port = ngx.var.server_port
  local same_port = "other port"
  if port == tostring(kong.request.get_port()) then
    same_port = "same port"
  end
  local unknown = ngx.var.no_such_variable ~= nil
  return s(scheme) .. "/" .. positive(reqs) .. "/" .. same_port .. "/" .. tostring(unknown)
end
P["kong.request.get_forwarded_scheme"] = function() return kong.request.get_forwarded_scheme() end
P["kong.request.get_forwarded_host"] = function() return kong.request.get_forwarded_host() end
P["kong.request.get_forwarded_port"] = function() return positive(kong.request.get_forwarded_port()) end
P["kong.request.get_http_version"] = function() return s(kong.request.get_http_version()) end
P["kong.request.get_method"] = function() return kong.request.get_method() end
P["kong.request.get_path"] = function() return kong.request.get_path() end
P["kong.request.get_raw_path"] = function() return kong.request.get_raw_path() end
P["kong.request.get_raw_query"] = function() return kong.request.get_raw_query() end
P["kong.request.get_query_arg"] = function() return str(kong.request.get_query_arg("a")) end
P["kong.request.get_query"] = function() return sorted_values(kong.request.get_query()) end
P["kong.request.get_header"] = function() return kong.request.get_header("x-multi") or "" end
-- no get_header_values in Kong: get_headers' table holds every value of a
-- repeated header, found case-insensitively
P["kong.request.get_header_values"] = function() return joined(kong.request.get_headers()["X-MULTI"]) end
P["kong.request.get_headers"] = function() return joined(kong.request.get_headers()["x-multi"]) end
P["kong.request.get_raw_body"] = function()
  local body, err = kong.request.get_raw_body()
  return (body or "") .. errtext(err)
end
P["kong.request.get_body"] = function()
  local body, err, mime = kong.request.get_body()
  return s(body and body.k) .. " " .. s(mime) .. errtext(err)
end
-- Kong's Lua PDK has no request context: the deadline is the request's
-- start plus the service's connect, write and read timeouts.
P["kong.request.get_method/context_deadline"] = function()
  local svc = kong.router.get_service()
  local total = (svc.connect_timeout + svc.write_timeout + svc.read_timeout) / 1000
  local left = kong.request.get_start_time() / 1000 + total - ngx.now()
  -- get_start_time has millisecond resolution
  if left <= total - 1 or left > total + 0.001 then
    return "deadline in " .. left
  end
  return "deadline ok"
end

-- kong.service.request
P["kong.service.request.set_scheme"] = function() kong.service.request.set_scheme("http") return "ok" end
P["kong.service.request.set_path"] = function() kong.service.request.set_path("/set-path") return "ok" end
P["kong.service.request.set_raw_query"] = function() kong.service.request.set_raw_query("q=1") return "ok" end
P["kong.service.request.set_query"] = function() kong.service.request.set_query({ q = { "2", "3" } }) return "ok" end
P["kong.service.request.set_method"] = function() kong.service.request.set_method("PUT") return "ok" end
P["kong.service.request.set_header"] = function() kong.service.request.set_header("X-Set", "1") return "ok" end
P["kong.service.request.add_header"] = function() kong.service.request.add_header("X-Multi", "3") return "ok" end
P["kong.service.request.clear_header"] = function() kong.service.request.clear_header("x-multi") return "ok" end
P["kong.service.request.set_headers"] = function() kong.service.request.set_headers({ ["X-Multi"] = { "a", "b" } }) return "ok" end
P["kong.service.request.set_raw_body"] = function() kong.service.request.set_raw_body("raw") return "ok" end
P["kong.service.request.set_body"] = function()
  local _, err = kong.service.request.set_body({ j = 1 }, "application/x-www-form-urlencoded")
  return errtext(err)
end
P["kong.service.request.enable_buffering"] = function() kong.service.request.enable_buffering() return "ok" end

-- kong.service
P["kong.service.set_target"] = function()
  local host, port = kong.request.get_header("X-Abi-Target"):match("^(.*):(%d+)$")
  kong.service.set_target(host, tonumber(port))
  return "ok"
end
P["kong.service.set_upstream"] = function()
  local _, err = kong.service.set_upstream("nope")
  local ok, err2 = kong.service.set_upstream(UPSTREAM_NAME)
  local good = errtext(err2)
  if ok and good == "" then
    good = "ok"
  end
  return errtext(err) .. "/" .. good
end

-- kong.response
P["kong.response.get_status"] = function() return s(kong.response.get_status()) end
P["kong.response.set_status"] = function() kong.response.set_status(201) return "ok" end
P["kong.response.get_header"] = function() return kong.response.get_header(UPSTREAM_HEADER) or "" end
P["kong.response.get_headers"] = function() return joined(kong.response.get_headers()[UPSTREAM_HEADER:lower()]) end
P["kong.response.set_header"] = function() kong.response.set_header("X-Resp", "1") return "ok" end
P["kong.response.add_header"] = function() kong.response.add_header(UPSTREAM_HEADER, "2") return "ok" end
P["kong.response.clear_header"] = function() kong.response.clear_header(UPSTREAM_HEADER) return "ok" end
P["kong.response.get_source"] = function() return kong.response.get_source() end
P["kong.response.exit"] = ending("ok", function()
  kong.response.exit(418, "teapot", { ["X-Exit"] = "1" })
end)
P["kong.response.exit/json"] = ending("ok", function()
  kong.response.exit(403, { message = "no" })
end)
P["kong.response.error"] = ending("ok", function()
  kong.response.error(403)
end)
P["kong.response.error/text"] = ending("ok", function()
  kong.response.error(429, "slow down", { ["Content-Type"] = "text/plain", ["Retry-After"] = "1" })
end)
-- no kong.response.exited in Kong: a handler still running has not
-- exited (exit never returns), and a later phase knows the request
-- exited from kong.response.get_source()
P["kong.response.exited"] = function(name, out_of_phase)
  if not out_of_phase then
    kong.ctx.plugin.abi_exited_probe = name
  end
  kong.response.exit(204)
  return "handler went on after an exit"
end
P["kong.response.get_raw_body"] = function() return kong.response.get_raw_body() or "" end
P["kong.response.set_raw_body"] = function() kong.response.set_raw_body("replaced") return "ok" end

-- kong.service.response
P["kong.service.response.get_status"] = function() return s(kong.service.response.get_status()) end
P["kong.service.response.get_header"] = function() return kong.service.response.get_header(UPSTREAM_HEADER) or "" end
P["kong.service.response.get_headers"] = function()
  return joined(kong.service.response.get_headers()[UPSTREAM_HEADER:lower()])
end
P["kong.service.response.get_raw_body"] = function() return kong.service.response.get_raw_body() or "" end

-- kong.client
P["kong.client.get_ip"] = function() return kong.client.get_ip() end
P["kong.client.get_forwarded_ip"] = function() return kong.client.get_forwarded_ip() end
P["kong.client.get_port"] = function() return positive(kong.client.get_port()) end
P["kong.client.get_forwarded_port"] = function() return positive(kong.client.get_forwarded_port()) end
P["kong.client.get_protocol"] = function() return kong.client.get_protocol() end
P["kong.client.get_consumer"] = function() return field(kong.client.get_consumer(), "username") end
P["kong.client.get_credential"] = function() return field(kong.client.get_credential(), "id") end
P["kong.client.authenticate"] = function()
  kong.client.authenticate({ id = "c-1", username = CONSUMER_NAME }, { id = "cred-1" })
  return field(kong.client.get_consumer(), "username") .. "/" .. field(kong.client.get_credential(), "id")
end
P["kong.client.load_consumer"] = function()
  local c, err = kong.client.load_consumer(CONSUMER_NAME, true)
  local none, err2 = kong.client.load_consumer("nobody", true)
  return field(c, "username") .. "/" .. field(none, "username") .. errtext(err) .. errtext(err2)
end

-- kong.ctx
P["kong.ctx.shared.get"] = function() return str(kong.ctx.shared.missing) end
P["kong.ctx.shared.set"] = function()
  kong.ctx.shared.k = "v"
  return str(kong.ctx.shared.k)
end
P["kong.ctx.shared.delete"] = function()
  kong.ctx.shared.k = "v"
  kong.ctx.shared.k = nil
  return str(kong.ctx.shared.k)
end
P["kong.ctx.plugin.get"] = function() return str(kong.ctx.plugin.missing) end
P["kong.ctx.plugin.set"] = function()
  kong.ctx.plugin.k = "v"
  return str(kong.ctx.plugin.k) .. "/" .. str(kong.ctx.shared.k)
end
P["kong.ctx.plugin.delete"] = function()
  kong.ctx.plugin.k = "v"
  kong.ctx.plugin.k = nil
  return str(kong.ctx.plugin.k)
end

-- kong.log
P["kong.log"] = function() kong.log.info("abi probe") return "ok" end
P["kong.log.serialize"] = function()
  local m = kong.log.serialize()
  local req = m.request or {}
  local resp = m.response or {}
  local hdrs = req.headers or {}
  local rhdrs = resp.headers or {}
  local q = req.querystring or {}
  local url, uri = req.url or "", req.uri or ""
  local head, tail = url:match("^(.*:)([^:]*)$")
  if head and #head > 1 then
    if uri ~= "" and tail:sub(-#uri) == uri then
      tail = tail:sub(1, #tail - #uri)
    end
    url = head .. positive(tonumber(tail) or 0)
  end
  local nq = 0
  for _ in pairs(q) do
    nq = nq + 1
  end
  local route, svc = m.route or {}, m.service or {}
  return table.concat({ s(req.method), s(req.uri), url, joined(hdrs["x-multi"]), s(m.upstream_uri),
    s(m.upstream_status), s(resp.status), s(rhdrs[UPSTREAM_HEADER:lower()]), s(m.client_ip),
    s(svc.name), tostring(route.id ~= nil and nq == 2), s(m.source) }, " ")
end
P["kong.log.set_serialize_value"] = function()
  local set = kong.log.set_serialize_value
  set("custom.field", "x")
  set("dotted\\.key", "a.b")
  set("client_ip", nil)
  -- Kong's options.mode: add leaves what exists, replace adds nothing
  set("request.method", "NOPE", { mode = "add" })
  set("added.field", "added", { mode = "add" })
  set("missing.field", "r", { mode = "replace" })
  set("upstream_status", "replaced", { mode = "replace" })
  -- a bad mode is an error raised (Kong), where Go returns one
  local _, err = pcall(set, "bogus", "b", { mode = "sometimes" })
  local m = kong.log.serialize()
  local custom, req, added = m.custom or {}, m.request or {}, m.added or {}
  return s(custom.field) .. "/" .. s(m["dotted.key"]) .. "/" .. str(m.client_ip) .. "/" .. s(req.method) .. "/" ..
    s(added.field) .. "/" .. str(m.missing) .. "/" .. str(m.bogus) .. "/" .. s(m.upstream_status) .. "/" .. errtext(err)
end

-- kong.client.tls, outbound HTTP (resty.http, Kong's cosockets)
P["kong.client.tls.get_full_client_certificate_chain"] = function()
  local chain, err = kong.client.tls.get_full_client_certificate_chain()
  if (chain == nil or chain == "") and err == nil then
    return "none"
  end
  return (chain or "") .. errtext(err)
end
P["kong.http.do"] = function()
  local url = target() .. "/outbound"
  local res, err = http.new():request_uri(url, { headers = { ["X-Abi-Nonce"] = "outbound" } })
  -- OpenResty's timeouts are milliseconds; a fraction of one gives the
  -- Go probe's nanosecond
  local quick = http.new()
  quick:set_timeout(0.000001)
  local _, err2 = quick:request_uri(url)
  local timed_out = "no error"
  if err2 ~= nil then
    timed_out = "error"
  end
  return s(res and res.status or 0) .. " " .. (res and res.body or "") .. errtext(err) .. "/" .. timed_out
end

-- kong.timer.at is OpenResty's ngx.timer.at: the callback runs after the
-- request, with premature = false
P["kong.timer.at"] = function()
  local url = target() .. "/timer"
  local ok, err = ngx.timer.at(0.001, function(premature)
    http.new():request_uri(url, { headers = { ["X-Abi-Nonce"] = "timer" } })
  end)
  if not ok then
    return s(err)
  end
  return "ok"
end

-- kong.cache (no set, lookup, fill or abandon in Kong: kong.cache:get's
-- callback loads and fills, its nil, err abandons; probe reads)
P["kong.cache.get"] = function() return cache_peek(cache_key("get")) end
P["kong.cache.set"] = function()
  cache_get(cache_key("a"), "v")
  cache_get(cache_key("b"), nil)
  return cache_peek(cache_key("a")) .. "/" .. cache_peek(cache_key("b"))
end
P["kong.cache.lookup"] = function()
  local key = cache_key("lookup")
  local first = cache_get(key, "v")
  return first .. "/" .. cache_get(key, "other")
end
P["kong.cache.fill"] = function()
  local key = cache_key("fill")
  cache_get(key, 42)
  return cache_get(key, 0)
end
P["kong.cache.abandon"] = function()
  local key = cache_key("abandon")
  local first = cache_get(key, nil, "no")
  return first .. "/" .. cache_get(key, nil, "no")
end
P["kong.cache.invalidate"] = function()
  local key = cache_key("inv")
  cache_get(key, "v")
  kong.cache:invalidate(key)
  return cache_peek(key)
end

-- kong.node, kong.router, kong.ip, kong.plugin
P["kong.node.get_id"] = function() return tostring(#kong.node.get_id()) end
P["kong.node.get_hostname"] = function()
  local h = kong.node.get_hostname()
  if h ~= nil and h ~= "" then
    return "set"
  end
  return "empty"
end
P["kong.router.get_route"] = function() return tostring(#field(kong.router.get_route(), "id")) end
P["kong.router.get_service"] = function() return field(kong.router.get_service(), "name") end
P["kong.request.get_uri_captures"] = function()
  local caps = kong.request.get_uri_captures()
  local m = {}
  for i, v in pairs(caps.unnamed) do
    m[tostring(i)] = v
  end
  for n, v in pairs(caps.named) do
    m[n] = v
  end
  return sorted_values(m)
end
P["kong.ip.is_trusted"] = function()
  return tostring(kong.ip.is_trusted("10.1.2.3")) .. "/" .. tostring(kong.ip.is_trusted("127.0.0.1")) .. "/" ..
    tostring(kong.ip.is_trusted("not an ip"))
end
P["kong.plugin.get_id"] = function() return kong.plugin.get_id() end
P["kong.plugin.get_name"] = function() return PLUGIN_NAME end

-- credentials: Kong plugins read them with kong.db.<entity>:select_by_<key>
-- and each_for_consumer
P["kong.credentials.get"] = function()
  local c, err = kong.db.keyauth_credentials:select_by_key(CREDENTIAL_KEY)
  local none, err2 = kong.db.keyauth_credentials:select_by_key("nope")
  return field(c, "key") .. "/" .. field(none, "key") .. errtext(err) .. errtext(err2)
end
P["kong.credentials.list_by_consumer"] = function()
  local c, err = kong.client.load_consumer(CONSUMER_NAME, true)
  if err ~= nil or c == nil then
    return "no consumer" .. errtext(err)
  end
  local n = 0
  for row, rerr in kong.db.keyauth_credentials:each_for_consumer({ id = c.id }) do
    if not row then
      return tostring(n) .. errtext(rerr)
    end
    n = n + 1
  end
  return tostring(n)
end

-- kong.db: entities named after the request's nonce
P["kong.db.insert"] = function()
  local name = "db-" .. nonce()
  local c, err = kong.db.consumers:insert({ username = name })
  if not c then
    return "insert" .. errtext(err)
  end
  local _, err2, err_t = kong.db.consumers:insert({ username = name })
  local id = field(c, "id")
  local uuid = "not a uuid: " .. id
  if #id == 36 and select(2, id:gsub("-", "")) == 4 then
    uuid = "uuid"
  end
  return "inserted " .. uuid .. "/" .. dberr(err2, err_t)
end
P["kong.db.select"] = function()
  local name = "db-" .. nonce()
  local none, err3 = kong.db.consumers:select({ id = unknown_id() })
  local c, err = kong.db.consumers:insert({ username = name })
  if not c then
    return "insert" .. errtext(err)
  end
  local by_id, err1 = kong.db.consumers:select({ id = c.id })
  local by_name, err2 = kong.db.consumers:select_by_username(name)
  return same(by_id, name, "by id") .. "/" .. same(by_name, name, "by username") .. "/" .. nil_or(none) ..
    errtext(err1) .. errtext(err2) .. errtext(err3)
end
P["kong.db.select_by"] = function()
  local name = "db-" .. nonce()
  local none, err2 = kong.db.consumers:select_by_custom_id("nope-" .. name)
  local _, err = kong.db.consumers:insert({ username = name, custom_id = "cid-" .. name })
  if err then
    return "insert" .. errtext(err)
  end
  local c, err1 = kong.db.consumers:select_by_custom_id("cid-" .. name)
  return same(c, name, "found") .. "/" .. nil_or(none) .. errtext(err1) .. errtext(err2)
end
P["kong.db.page"] = function()
  local tag = "t" .. nonce()
  local _, err3, err3_t = kong.db.consumers:page(5000)
  for i = 0, 2 do
    local _, err = kong.db.consumers:insert({ username = tag .. "-" .. i, tags = { tag } })
    if err then
      return "insert" .. errtext(err)
    end
  end
  local first, err1, _, next_offset = kong.db.consumers:page(2, nil, { tags = { tag } })
  local second, err2, _, last = kong.db.consumers:page(2, next_offset, { tags = { tag } })
  local function next_or_last(o)
    if o == nil then
      return "last"
    end
    return "next"
  end
  return #(first or {}) .. " " .. next_or_last(next_offset) .. "/" .. #(second or {}) .. " " .. next_or_last(last) ..
    "/" .. dberr(err3, err3_t) .. errtext(err1) .. errtext(err2)
end
P["kong.db.update"] = function()
  local name = "db-" .. nonce()
  local _, err2, err2_t = kong.db.consumers:update({ id = unknown_id() }, { custom_id = "x" })
  local c, err = kong.db.consumers:insert({ username = name })
  if not c then
    return "insert" .. errtext(err)
  end
  local u, err1 = kong.db.consumers:update({ id = c.id }, { custom_id = "new-cid" })
  return field(u, "custom_id") .. "/" .. dberr(err2, err2_t) .. errtext(err1)
end
P["kong.db.upsert"] = function()
  local name = "db-" .. nonce()
  local pk = { id = unknown_id() }
  local a, err1 = kong.db.consumers:upsert(pk, { username = name, custom_id = "a-" .. name })
  local b, err2 = kong.db.consumers:upsert(pk, { username = name, custom_id = "b-" .. name })
  local out = "?"
  if field(a, "username") == name and field(a, "custom_id") == "a-" .. name then
    out = "created"
  end
  if field(b, "id") == field(a, "id") and field(b, "custom_id") == "b-" .. name then
    out = out .. "/replaced"
  end
  return out .. errtext(err1) .. errtext(err2)
end
P["kong.db.delete"] = function()
  local name = "db-" .. nonce()
  local _, missing, missing_t = kong.db.consumers:delete({ id = unknown_id() })
  local c, err = kong.db.consumers:insert({ username = name })
  if not c then
    return "insert" .. errtext(err)
  end
  local _, err1 = kong.db.consumers:delete({ id = c.id })
  local gone, err2 = kong.db.consumers:select({ id = c.id })
  return dberr(missing, missing_t) .. "/" .. nil_or(gone) .. errtext(err1) .. errtext(err2)
end

-- The handler: every phase runs the probe the request names when it is
-- the probe's phase.

local AbiProbe = { PRIORITY = 1000, VERSION = "1.0.0" }

local function run(phase)
  local name = kong.request.get_header("X-Abi-Probe")
  if not name then
    return
  end
  local op, probe_phase, variant = name:match("^([^/]+)/([^/]+)/?(.*)$")
  if probe_phase ~= phase then
    return
  end
  local key = op
  if variant ~= "" and variant ~= "out_of_phase" then
    key = op .. "/" .. variant
  end
  local fn = P[key]
  if not fn then
    return
  end
  recorder.called(name)
  local obs = fn(name, variant == "out_of_phase")
  recorder.returned(name, obs)
end

function AbiProbe:rewrite() run("rewrite") end
function AbiProbe:access() run("access") end
function AbiProbe:response() run("response") end
function AbiProbe:header_filter() run("header_filter") end
function AbiProbe:body_filter() run("body_filter") end

function AbiProbe:log()
  run("log")
  -- kong.response.exited's probe: "false" before the exit (the handler
  -- was still running), then what get_source says after it
  local pending = kong.ctx.plugin.abi_exited_probe
  if pending then
    recorder.returned(pending, "false/" .. tostring(kong.response.get_source() == "exit"))
  end
end

return AbiProbe
