-- token-desk's Admin API, in the form Kong 1.x-3.x plugins use: routes
-- with the schema of their entity and their methods.
local cjson = require "cjson"
local endpoints = require "kong.api.endpoints"

local notes_schema = kong.db.token_desk_notes.schema

local function consumer_of(db, helpers, name)
  local consumer, err, err_t = db.consumers:select_by_username(name)
  if err then
    return helpers.yield_error(err_t)
  end
  if not consumer then
    return kong.response.exit(404, { message = "Not found" })
  end
  return consumer
end

return {
  ["/token-desk/:consumer/notes"] = {
    schema = notes_schema,
    methods = {
      GET = function(self, db, helpers)
        local consumer = consumer_of(db, helpers, self.params.consumer)
        local texts = {}
        for row, err in db.token_desk_notes:each_for_consumer({ id = consumer.id }) do
          if err then
            return helpers.yield_error(err)
          end
          texts[#texts + 1] = row.text
        end
        table.sort(texts)
        local limit = tonumber(self.params.limit)
        if limit and #texts > limit then
          for i = #texts, limit + 1, -1 do
            texts[i] = nil
          end
        end
        return kong.response.exit(200, {
          consumer = consumer.username,
          data = setmetatable(texts, cjson.array_mt),
          total = #texts,
        })
      end,

      POST = function(self, db, helpers)
        local consumer = consumer_of(db, helpers, self.params.consumer)
        local level = self.params.meta and self.params.meta.level
        local row, err, err_t = db.token_desk_notes:insert({
          consumer = { id = consumer.id },
          text = self.params.text,
          level = tonumber(level) or level,
        })
        if not row then
          return helpers.yield_error(err_t)
        end
        kong.log.info("note ", row.id, " kept for ", consumer.username)
        return kong.response.exit(201, row, { ["X-Note-Id"] = row.id })
      end,
    },
  },

  ["/token-desk/echo/:word"] = {
    schema = notes_schema,
    methods = {
      POST = function(self)
        return kong.response.exit(200, {
          word = self.params.word,
          params = self.params,
          uri = self.args.uri,
          post = self.args.post,
          json = self.json ~= nil,
          probe = self.req.headers["X-Probe"],
          method = kong.request.get_method(),
          query_arg = kong.request.get_query_arg("q"),
          node = kong.node.get_id() ~= nil,
        })
      end,
      PUT = function(self)
        return kong.response.exit(200, { word = self.params.word, params = self.params })
      end,
    },
  },

  ["/token-desk/exits/:code"] = {
    schema = notes_schema,
    methods = {
      GET = function(self)
        local code = tonumber(self.params.code)
        if code == 204 then
          return kong.response.exit(204)
        elseif code == 418 then
          return kong.response.exit(418, "short and stout", { ["Content-Type"] = "text/plain", ["X-Pot"] = "yes" })
        elseif code == 403 then
          return kong.response.error(403)
        elseif code == 202 then
          ngx.status = 202
          ngx.say("said ", self.params.word or "nothing")
          return
        elseif code == 203 then
          -- Lapis renders what a handler returns
          return { status = 203, json = { rendered = true }, headers = { ["X-Rendered"] = "yes" } }
        elseif code == 206 then
          return { status = 206, "<p>partial</p>" }
        end
        return kong.response.exit(code, { code = code })
      end,
    },
  },

  ["/token-desk/faults/:kind"] = {
    schema = notes_schema,
    methods = {
      GET = function(self, db, helpers)
        local kind = self.params.kind
        if kind == "error" then
          error("the desk fell over")
        elseif kind == "nil" then
          local t = nil
          return t.field
        elseif kind == "spin" then
          while true do end
        elseif kind == "yield-unique" then
          return helpers.yield_error({ code = 5, name = "unique constraint violation",
            message = "UNIQUE violation detected on '{text=\"x\"}'", fields = { text = "x" } })
        elseif kind == "yield-string" then
          return helpers.yield_error("the store is gone")
        elseif kind == "return-err" then
          return nil, "handler said no"
        elseif kind == "service" then
          return kong.response.exit(200, { host = kong.service.request.set_header("a", "b") })
        elseif kind == "timer" then
          local ok, err = ngx.timer.at(0, function() end)
          return kong.response.exit(200, { ok = ok or false, err = err })
        end
        return kong.response.exit(200, { kind = kind })
      end,
    },
  },

  -- Kong's generated endpoints, and a customized one calling its parent:
  -- the node's entity routes answer.
  ["/consumers/:consumers/token-desk-notes"] = {
    schema = notes_schema,
    methods = {
      GET = endpoints.get_collection_endpoint(notes_schema, kong.db.consumers.schema, "consumer"),
      POST = function(self, db, helpers, parent)
        if self.params.text == "forbidden" then
          return kong.response.exit(403, { message = "that note is not kept" })
        end
        return parent()
      end,
    },
  },

  -- a generated endpoint where the node has no route: Kong's 404
  ["/token-desk/generated"] = {
    schema = notes_schema,
    methods = {
      GET = endpoints.get_collection_endpoint(notes_schema),
    },
  },

  -- The Admin API's own route wins over a plugin's with the same path.
  ["/status"] = {
    schema = notes_schema,
    methods = {
      GET = function() return kong.response.exit(200, { desk = true }) end,
    },
  },
}
