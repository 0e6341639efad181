-- The 0.x form of api.lua: routes map straight to methods, which get
-- (self, dao_factory, helpers), answer through kong.tools.responses or
-- ngx.say, and report DAO errors with helpers.yield_error.
local responses = require "kong.tools.responses"
local crud = require "kong.api.crud_helpers"
local cjson = require "cjson"

return {
  -- the 0.x acl plugin's own routes, as it wrote them
  ["/consumers/:username_or_id/acls/"] = {
    before = function(self, dao_factory, helpers)
      crud.find_consumer_by_username_or_id(self, dao_factory, helpers)
    end,
    GET = function(self, dao_factory)
      crud.paginated_set(self, dao_factory.acls)
    end,
    POST = function(self, dao_factory)
      crud.post(self.params, dao_factory.acls)
    end,
  },

  ["/legacy-desk/:username/groups"] = {
    before = function(self, dao_factory, helpers)
      local rows, err = dao_factory.consumers:find_all { username = self.params.username }
      if err then
        return helpers.yield_error(err)
      end
      if #rows == 0 then
        return helpers.responses.send_HTTP_NOT_FOUND()
      end
      self.consumer = rows[1]
    end,

    GET = function(self, dao_factory, helpers)
      local acls, err = dao_factory.acls:find_all { consumer_id = self.consumer.id }
      if err then
        return helpers.yield_error(err)
      end
      local groups = {}
      for _, acl in ipairs(acls) do
        groups[#groups + 1] = acl.group
      end
      table.sort(groups)
      return responses.send_HTTP_OK({ username = self.consumer.username, groups = groups, page = self.params.page })
    end,
  },

  ["/legacy-desk/:username/greeting"] = {
    POST = function(self, dao_factory, helpers)
      if not self.params.greeting then
        return helpers.responses.send_HTTP_BAD_REQUEST("greeting is required")
      end
      ngx.header["Content-Type"] = "application/json"
      ngx.say(cjson.encode({
        greeting = self.params.greeting .. ", " .. self.params.username,
        config = self.params.config,
      }))
      return ngx.exit(200)
    end,
  },

  ["/legacy-desk/errors/:kind"] = {
    GET = function(self, dao_factory, helpers)
      if self.params.kind == "unique" then
        return helpers.yield_error({ unique = true, tbl = { name = "already exists with value 'x'" } })
      elseif self.params.kind == "foreign" then
        return helpers.yield_error({ foreign = true })
      elseif self.params.kind == "db" then
        return helpers.yield_error({ db = true, message = "connection refused" })
      elseif self.params.kind == "string" then
        return helpers.yield_error("the DAO is on fire")
      end
      return helpers.yield_error({ message = "bad " .. self.params.kind })
    end,
  },

  -- an on_error that renders nothing: an empty 200, and the handler
  -- does not go on after yield_error
  ["/legacy-desk/quiet"] = {
    on_error = function(self) end,
    GET = function(self, dao_factory, helpers)
      helpers.yield_error("hush")
      return responses.send_HTTP_OK({ continued = true })
    end,
  },

  -- a route's own on_error gets what yield_error was given
  ["/legacy-desk/custom"] = {
    on_error = function(self)
      return responses.send_HTTP_CONFLICT({ custom = self.errors[1] })
    end,
    GET = function(self, dao_factory, helpers)
      return helpers.yield_error("mine")
    end,
  },
}
