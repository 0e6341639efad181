-- Answers every request itself.
local Exit = { PRIORITY = 1000, VERSION = "1.0.0" }

function Exit:access(conf)
  return kong.response.exit(conf.status, conf.body, {
    ["Content-Type"] = conf.content_type,
    ["X-Scenario"] = "exit",
  })
end

return Exit
