return { name = "api-broken", fields = { { config = { type = "record", fields = {} } } } }
