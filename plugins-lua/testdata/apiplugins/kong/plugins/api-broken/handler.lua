return { PRIORITY = 1, VERSION = "1.0.0", access = function() kong.response.set_header("X-Broken-Api", "handler runs") end }
