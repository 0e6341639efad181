-- Sets a header upstream, drops another, and marks the response.
local HeaderRewrite = { PRIORITY = 1000, VERSION = "1.0.0" }

function HeaderRewrite:access(conf)
  kong.service.request.set_header(conf.header, conf.value)
  if conf.drop and conf.drop ~= ngx.null then
    kong.service.request.clear_header(conf.drop)
  end
end

function HeaderRewrite:header_filter(conf)
  kong.response.set_header("X-Scenario", "header-rewrite")
end

return HeaderRewrite
