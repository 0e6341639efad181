-- jwt-crafter, written as 0.x plugins were: BasePlugin, kong.singletons'
-- DAO, kong.tools.responses, ngx.ctx and ngx.say.
local BasePlugin = require "kong.plugins.base_plugin"
local responses = require "kong.tools.responses"
local singletons = require "kong.singletons"
local jwt = require "resty.jwt"
local cjson = require "cjson"
local claims = require "kong.plugins.jwt-crafter.claims"

local JwtCrafterHandler = BasePlugin:extend()

-- After the authentication plugins.
JwtCrafterHandler.PRIORITY = 10
JwtCrafterHandler.VERSION = "1.0.0"

function JwtCrafterHandler:new()
  JwtCrafterHandler.super.new(self, "jwt-crafter")
end

function JwtCrafterHandler:access(conf)
  JwtCrafterHandler.super.access(self)

  local consumer = ngx.ctx.authenticated_consumer
  local credential = ngx.ctx.authenticated_credential
  if not consumer or not credential then
    return responses.send_HTTP_FORBIDDEN("Cannot identify the consumer, add an authentication plugin to generate JWT token")
  end

  local acls, err = singletons.dao.acls:find_all { consumer_id = credential.consumer_id }
  if err then
    return responses.send_HTTP_INTERNAL_SERVER_ERROR(err)
  end
  local secrets, err = singletons.dao.jwt_secrets:find_all { consumer_id = consumer.id }
  if err then
    return responses.send_HTTP_INTERNAL_SERVER_ERROR(err)
  end
  if #secrets == 0 then
    return responses.send_HTTP_FORBIDDEN("Cannot create a JWT: the consumer has no jwt credential")
  end

  local secret = secrets[1]
  local token = jwt:sign(secret.secret, {
    header = { typ = "JWT", alg = "HS256" },
    payload = claims.build(consumer, secret, acls, conf.expires_in),
  })

  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode({ access_token = token, token_type = "Bearer", expires_in = conf.expires_in }))
  return ngx.exit(200)
end

return JwtCrafterHandler
