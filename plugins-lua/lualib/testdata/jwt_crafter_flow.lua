-- The jwt-crafter flow, library side: a 0.x-style plugin signs a token
-- for a consumer's jwt credential with resty.jwt, and Kong's jwt plugin
-- (through kong.plugins.jwt.jwt_parser) accepts it.
local jwt = require "resty.jwt"
local jwt_parser = require "kong.plugins.jwt.jwt_parser"
local cjson = require "cjson.safe"

local credential = { key = "crafted-key", secret = "crafted-secret", algorithm = "HS256" }
local acls = { { group = "admins" }, { group = "readers" } }

local groups = {}
for _, acl in ipairs(acls) do
  groups[#groups + 1] = acl.group
end

local now = ngx.time()
local token = jwt:sign(credential.secret, {
  header = { typ = "JWT", alg = credential.algorithm },
  payload = { sub = "consumer-id", nam = "test", iss = credential.key, rol = groups, exp = now + 3600 },
})

-- What the jwt plugin does with it.
local parsed, err = jwt_parser:new(token)
assert(parsed, err)
assert(parsed.header.alg == "HS256", "alg " .. tostring(parsed.header.alg))
assert(parsed.claims.iss == credential.key, "iss")
assert(parsed:verify_signature(credential.secret), "signature")
local ok, errs = parsed:verify_registered_claims({ "exp" })
assert(ok, cjson.encode(errs))
assert(parsed:check_maximum_expiration(7200))
assert(parsed.claims.rol[2] == "readers")

-- And resty.jwt agrees.
local obj = jwt:verify(credential.secret, token)
assert(obj.verified, obj.reason)

-- A token signed with another secret is refused by both.
local forged = jwt:sign("other", { header = { typ = "JWT", alg = "HS256" }, payload = { iss = credential.key } })
assert(not jwt_parser:new(forged):verify_signature(credential.secret))
assert(jwt:verify(credential.secret, forged).reason:find("^signature mismatch: "))

return "ok"
