-- gui-greeter answers with a header built from its configuration, so a
-- test can see that a plugin configured through Kong Manager's generated
-- form runs with exactly what the form sent.
local Greeter = { PRIORITY = 800, VERSION = "1.0.0" }

function Greeter:header_filter(conf)
  if not conf.enabled_header then
    return
  end
  local g = conf.greeting
  if conf.style == "loud" then
    g = string.upper(g)
  end
  local words = {}
  for i = 1, conf.times do
    words[i] = g
  end
  g = table.concat(words, " ")
  local extra = conf.extra or {}
  table.sort(extra)
  kong.response.set_header("X-Greeting", g .. " / " .. table.concat(extra, ",") .. " / " .. conf.signature.name)
end

return Greeter
