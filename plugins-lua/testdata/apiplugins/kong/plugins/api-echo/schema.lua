return { name = "api-echo", fields = { { config = { type = "record", fields = {} } } } }
