return { PRIORITY = 1, VERSION = "1.0.0", access = function() end }
