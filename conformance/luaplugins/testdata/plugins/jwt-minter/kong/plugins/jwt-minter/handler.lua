-- jwt-minter: jwt-crafter's job written as Kong 3.x plugins are: kong.db,
-- kong.cache, Penlight, resty.openssl, and an entity of its own
-- (daos.lua) recording every token it issues.
local tablex = require "pl.tablex"
local hmac = require "resty.openssl.hmac"
local cjson = require "cjson.safe"
local uuid = require "kong.tools.uuid"

local JwtMinter = {
  PRIORITY = 10, -- after the authentication plugins
  VERSION = "1.0.0",
}

local HEADER = tablex.readonly({ typ = "JWT", alg = "HS256" })

local function b64url(s)
  return (ngx.encode_base64(s):gsub("%+", "-"):gsub("/", "_"):gsub("=", ""))
end

local function load_secret(key)
  local secret, err = kong.db.jwt_secrets:select_by_key(key)
  if err then
    return nil, err
  end
  return secret
end

function JwtMinter:access(conf)
  local consumer = kong.client.get_consumer()
  if not consumer then
    return kong.response.exit(403, { message = "Cannot identify the consumer" })
  end

  local cache_key = kong.db.jwt_secrets:cache_key(consumer.username)
  local secret, err = kong.cache:get(cache_key, nil, load_secret, consumer.username)
  if err then
    return kong.response.error(500, err)
  end
  if not secret then
    return kong.response.exit(403, { message = "The consumer has no jwt credential" })
  end

  local groups = {}
  for acl, err in kong.db.acls:each_for_consumer({ id = consumer.id }) do
    if err then
      return kong.response.error(500, err)
    end
    groups[#groups + 1] = acl.group
  end

  local jti = uuid.uuid()
  local exp = ngx.time() + conf.expires_in
  local header = assert(cjson.encode({ typ = HEADER.typ, alg = HEADER.alg }))
  local payload = assert(cjson.encode({
    sub = consumer.id, nam = consumer.username, rol = groups,
    iss = secret.key, exp = exp, jti = jti,
  }))
  local signing_input = b64url(header) .. "." .. b64url(payload)
  local mac = assert(hmac.new(secret.secret, "sha256"))
  local signature = assert(mac:final(signing_input))

  local _, err = kong.db.jwt_minter_tokens:insert({
    consumer = { id = consumer.id }, jti = jti, expires_at = exp,
  })
  if err then
    return kong.response.error(500, err)
  end

  return kong.response.exit(200, {
    access_token = signing_input .. "." .. b64url(signature),
    token_type = "Bearer",
    expires_in = conf.expires_in,
  })
end

return JwtMinter
