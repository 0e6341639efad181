return { postgres = { up_f = function() end, teardown = function() end } }
