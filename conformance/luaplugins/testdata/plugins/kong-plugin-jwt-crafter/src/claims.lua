-- The claims of a crafted token: the consumer, its groups, the jwt
-- credential's key as issuer (what the jwt plugin looks the secret up by).
local _M = {}

function _M.build(consumer, secret, acls, expires_in)
  local groups = {}
  for _, acl in ipairs(acls) do
    groups[#groups + 1] = acl.group
  end
  return {
    sub = consumer.id,
    nam = consumer.username,
    rol = groups,
    iss = secret.key,
    exp = ngx.time() + expires_in,
  }
end

return _M
