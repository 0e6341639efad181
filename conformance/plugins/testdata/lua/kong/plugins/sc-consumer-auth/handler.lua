-- Authenticates the consumer a header names.
local ConsumerAuth = { PRIORITY = 1000, VERSION = "1.0.0" }

function ConsumerAuth:access(conf)
  local name = kong.request.get_header(conf.header)
  local consumer
  if name then
    local err
    consumer, err = kong.client.load_consumer(name, true)
    if err then
      return error(err)
    end
  end
  if not consumer then
    return kong.response.exit(401, { message = "Unauthorized" })
  end
  kong.client.authenticate(consumer, nil)
  kong.service.request.set_header("X-Consumer-Username", consumer.username)
  kong.service.request.set_header("X-Consumer-Custom-Id", consumer.custom_id)
end

return ConsumerAuth
