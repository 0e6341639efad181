local greet = {}

function greet.hello(who)
  return "hello " .. who
end

return greet
