-- The access phase of a 0.x-style token crafter (the jwt-crafter flow):
-- the consumer basic-auth authenticated earlier is read from
-- ngx.ctx.authenticated_credential, its groups and JWT secret are found
-- with kong.singletons.dao, and the token is written with ngx.say and
-- ngx.exit(200). resty.jwt belongs to the library package; the token here
-- is a readable stand-in built from the same claims.
local singletons = require "kong.singletons"
local responses = require "kong.tools.responses"

local credential = ngx.ctx.authenticated_credential
if not credential then
  return responses.send_HTTP_UNAUTHORIZED("No credential")
end
local consumer_id = credential.consumer_id

local acls, err = singletons.dao.acls:find_all { consumer_id = consumer_id }
if err then
  return responses.send_HTTP_INTERNAL_SERVER_ERROR(err)
end
local secrets, serr = singletons.dao.jwt_secrets:find_all { consumer_id = consumer_id }
if serr then
  return responses.send_HTTP_INTERNAL_SERVER_ERROR(serr)
end
local secret = secrets[1]
if not secret then
  return responses.send_HTTP_FORBIDDEN("Consumer has no JWT credential, cannot craft token")
end

local groups = {}
for _, row in ipairs(acls) do
  groups[#groups + 1] = row.group
end
table.sort(groups)

ngx.log(ngx.DEBUG, "crafting a token for ", credential.username)
ngx.header["Content-Type"] = "text/plain"
ngx.say("iss=", secret.key, ";sub=", consumer_id, ";nam=", credential.username,
        ";rol=", table.concat(groups, ","))
return ngx.exit(200)
