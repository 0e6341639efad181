-- The same flow in the 1.x-3.x style: kong.client identity, kong.db
-- credential reads through kong.cache, kong.response.exit with a table.
local consumer = kong.client.get_consumer()
if not consumer then
  return kong.response.error(401)
end

local function load_groups(consumer_pk)
  local groups = {}
  for row, err in kong.db.acls:each_for_consumer(consumer_pk) do
    if not row then
      return nil, err
    end
    groups[#groups + 1] = row.group
  end
  table.sort(groups)
  return groups
end

local groups, err = kong.cache:get(kong.db.acls:cache_key(consumer.id), nil, load_groups, { id = consumer.id })
if err then
  kong.log.err("loading groups: ", err)
  return kong.response.exit(500, { message = "An unexpected error occurred" })
end

local key = kong.request.get_header("x-issuer")
local secret = key and kong.db.jwt_secrets:select_by_key(key)
if not secret or secret.consumer.id ~= consumer.id then
  return kong.response.exit(403, { message = "no JWT credential for this issuer" })
end

kong.ctx.shared.crafted_for = consumer.username
return kong.response.exit(200, {
  iss = secret.key,
  sub = consumer.id,
  rol = groups,
}, { ["Cache-Control"] = "no-store" })
