-- ngx-tour calls the ngx functions and the libraries Kong plugins use,
-- inside a real request, and reports what each gave (mode "report": the
-- results as JSON, through ngx.say and ngx.exit) or changes the upstream
-- request with ngx.req (mode "rewrite").
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"
local jwt = require "resty.jwt"
local hmac = require "resty.openssl.hmac"
local digest = require "resty.openssl.digest"
local pkey = require "resty.openssl.pkey"
local str = require "resty.string"
local sha256 = require "resty.sha256"
local md5 = require "resty.md5"
local sha1 = require "resty.sha1"
local asn = require "kong.plugins.jwt.asn_sequence"
local http = require "resty.http"
local jwt_parser = require "kong.plugins.jwt.jwt_parser"
local groups = require "kong.plugins.acl.groups"
local tablex = require "pl.tablex"
local stringx = require "pl.stringx"
local utils = require "pl.utils"

local Tour = { PRIORITY = 900, VERSION = "1.0.0" }

local function report(conf)
  local r = {}
  -- ngx.var
  r.var = {
    uri = ngx.var.uri, request_uri = ngx.var.request_uri, host = ngx.var.host,
    remote_addr = ngx.var.remote_addr, request_method = ngx.var.request_method,
    scheme = ngx.var.scheme, http_x_one = ngx.var.http_x_one, arg_a = ngx.var.arg_a,
  }
  -- ngx.req
  ngx.req.read_body()
  local args = ngx.req.get_uri_args()
  local post = ngx.req.get_post_args()
  r.req = {
    method = ngx.req.get_method(), a = args.a, b = args.b, p = post.p, q = post.q,
    header = ngx.req.get_headers()["x-one"], body = ngx.req.get_body_data(),
    started = ngx.req.start_time() > 0,
  }
  -- ngx.ctx
  ngx.ctx.tour = { n = 1 }
  ngx.ctx.tour.n = ngx.ctx.tour.n + 1
  r.ctx = ngx.ctx.tour.n
  -- time
  r.time = {
    now_ok = math.abs(ngx.now() - ngx.time()) < 2, today = ngx.today(),
    http_time = ngx.http_time(0),
  }
  ngx.update_time()
  -- encodings and digests
  r.enc = {
    b64 = ngx.encode_base64("hello"), unb64 = ngx.decode_base64("aGVsbG8="),
    md5 = ngx.md5("hello"), md5_bin = str.to_hex(ngx.md5_bin("hello")),
    sha1 = str.to_hex(ngx.sha1_bin("hello")), hmac_sha1 = str.to_hex(ngx.hmac_sha1("key", "hello")),
    crc32 = ngx.crc32_short("hello"), escape = ngx.escape_uri("a b/c"), unescape = ngx.unescape_uri("a%20b"),
    args = ngx.encode_args({ x = "1" }), decoded = ngx.decode_args("k=v&k2=v2").k2,
    null = ngx.null == cjson.null,
  }
  -- ngx.re
  local m = ngx.re.match("user-42", [[(?<name>\w+)-(\d+)]], "jo")
  local from, to = ngx.re.find("abc123", [[\d+]], "jo")
  local count = 0
  for _ in ngx.re.gmatch("a1b2c3", [[\d]], "jo") do count = count + 1 end
  local replaced, n = ngx.re.gsub("a1b2", [[\d]], "#", "jo")
  local first = ngx.re.sub("a1b2", [[\d]], "#", "jo")
  local _, bad = ngx.re.match("x", [[(?=x)]], "jo")
  r.re = { name = m.name, num = m[2], from = from, to = to, count = count, gsub = replaced, n = n, sub = first,
           unsupported = bad ~= nil }
  -- ngx.shared
  local dict = ngx.shared.kong
  dict:set("tour:k", "v", 100)
  local added = dict:add("tour:k", "w")
  local inc = dict:incr("tour:n", 5, 10)
  local ttl = dict:ttl("tour:k")
  r.shared = { get = dict:get("tour:k"), added = added, incr = inc, ttl_ok = ttl > 0 and ttl <= 100 }
  dict:delete("tour:k")
  r.shared.deleted = dict:get("tour:k") == nil
  -- phases, config, worker, log, timers
  r.env = { phase = ngx.get_phase(), subsystem = ngx.config.subsystem, worker = ngx.worker.id(),
            workers = ngx.worker.count() }
  ngx.log(ngx.INFO, "ngx-tour visited")
  r.env.timer = ngx.timer.at(0, function() end) == true
  -- cjson
  local encoded = cjson.encode({ list = { 1, 2 }, slash = "a/b" })
  local decoded = cjson.decode(encoded)
  local _, safe_err = cjson_safe.decode("{bad")
  r.cjson = { slash = encoded:find([[a\/b]], 1, true) ~= nil, second = decoded.list[2], safe = safe_err ~= nil }
  -- resty.jwt and Kong's jwt_parser
  local token = jwt:sign("secret", { header = { typ = "JWT", alg = "HS256" }, payload = { sub = "tour" } })
  local verified = jwt:verify("secret", token)
  local parsed = jwt_parser:new(token)
  r.jwt = { verified = verified.verified, sub = verified.payload.sub, parser_ok = parsed:verify_signature("secret"),
            loaded = jwt:load_jwt(token).header.alg }
  -- resty.openssl
  local mac = hmac.new("key", "sha256"):final("hello")
  local dg = digest.new("sha256")
  dg:update("hel")
  dg:update("lo")
  local key = pkey.new({ type = "EC", curve = "prime256v1" })
  local sig = key:sign("payload", "sha256")
  r.openssl = { hmac = str.to_hex(mac), digest = str.to_hex(dg:final()), pkey = key:verify(sig, "payload", "sha256") }
  -- resty.sha256, resty.md5
  local s = sha256:new()
  s:update("hello")
  local m5 = md5:new()
  m5:update("hello")
  local s1 = sha1:new()
  s1:update("hello")
  local seq = asn.parse_simple_sequence(asn.create_simple_sequence({ [1] = "\1\2", [2] = "\3" }))
  r.resty = { sha256 = str.to_hex(s:final()), md5 = str.to_hex(m5:final()), sha1 = str.to_hex(s1:final()),
              asn = str.to_hex(seq[1]) .. "/" .. str.to_hex(seq[2]) }
  -- resty.http, through the request's outbound client
  local client = http.new()
  client:set_timeout(2000)
  local res, err = client:request_uri(conf.upstream .. "/from-lua", { method = "GET", headers = { ["X-From"] = "lua" } })
  r.http = { status = res and res.status, body = res and res.body, err = err }
  -- acl groups, Penlight
  r.acl = groups.get_current_consumer_id() == nil
  r.pl = {
    deep = tablex.deepcompare({ a = { 1 } }, { a = { 1 } }),
    split = #stringx.split("a,b,c", ","), strip = stringx.strip("  x  "),
    usplit = #utils.split("a b c"), keys = #tablex.keys({ x = 1, y = 2 }),
  }
  return r
end

function Tour:access(conf)
  if conf.mode == "rewrite" then
    ngx.req.set_header("X-Set", "by-ngx")
    ngx.req.clear_header("X-One")
    ngx.req.set_uri("/rewritten")
    ngx.req.set_uri_args({ z = "9" })
    return
  end
  local r = report(conf)
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  ngx.header["X-Tour"] = "1"
  ngx.print(cjson.encode(r))
  ngx.say("")
  return ngx.exit(200)
end

return Tour
