-- kong.plugins.acl.groups for Gatehouse's Lua host: the helpers Kong's
-- acl plugin exports and other plugins require. A consumer's groups are
-- read with kong.db.acls:each_for_consumer and cached under
-- kong.db.acls:cache_key(consumer_id). Group lists are arrays that also
-- map each group name to itself, so both ipairs and groups[name] work.

local kong = kong
local ngx = ngx

local M = {}

local function fetch_acls(consumer)
  local rows = {}
  for row, err in kong.db.acls:each_for_consumer(consumer) do
    if not row then
      return nil, err
    end
    rows[#rows + 1] = row
  end
  return rows
end

local function as_group_set(list)
  local out = {}
  for i = 1, #list do
    local name = list[i]
    out[i] = name
    out[name] = name
  end
  return out
end

function M.get_current_consumer_id()
  local consumer = kong.client.get_consumer()
  if consumer and consumer.id then
    return consumer.id
  end
  local credential = kong.client.get_credential()
  if credential then
    return credential.consumer_id
  end
  return nil
end

-- Returns the consumer's group names (array and set), nil when the
-- consumer has none, or nil and an error.
function M.get_consumer_groups(consumer_id)
  local rows, err = kong.cache:get(kong.db.acls:cache_key(consumer_id), nil,
                                   fetch_acls, { id = consumer_id })
  if err then
    return nil, err
  end
  if type(rows) ~= "table" or #rows == 0 then
    return nil
  end
  local names = {}
  for i = 1, #rows do
    names[i] = rows[i].group
  end
  return as_group_set(names)
end

function M.consumer_in_groups(groups_to_check, consumer_groups)
  for i = 1, #groups_to_check do
    if consumer_groups[groups_to_check[i]] then
      return true
    end
  end
  return false
end

function M.get_authenticated_groups()
  local groups = kong.ctx.shared.authenticated_groups
  if type(groups) ~= "table" then
    groups = ngx.ctx.authenticated_groups
    if groups == nil then
      return nil
    end
    if type(groups) ~= "table" then
      kong.log.warn("invalid authenticated_groups, a table was expected")
      return nil
    end
  end
  local names = {}
  for i = 1, #groups do
    names[i] = groups[i]
  end
  return as_group_set(names)
end

function M.group_in_groups(groups_to_check, groups)
  for i = 1, #groups_to_check do
    if groups[groups_to_check[i]] then
      return true
    end
  end
  return nil
end

function M.warmup_groups_cache(consumer_id)
  local _, err = kong.cache:get(kong.db.acls:cache_key(consumer_id), nil,
                                fetch_acls, { id = consumer_id })
  if err then
    return nil, err
  end
  return true
end

return M
