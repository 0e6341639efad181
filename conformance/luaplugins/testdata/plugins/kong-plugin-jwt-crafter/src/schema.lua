-- The 0.x schema form: a table of fields by name.
return {
  no_consumer = true,
  fields = {
    expires_in = { type = "number", default = 8 * 60 * 60 },
  },
}
