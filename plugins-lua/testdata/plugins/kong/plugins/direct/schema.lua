return {
  name = "direct",
  fields = {
    { config = { type = "record", fields = { { value = { type = "string", default = "direct" } } } } },
  },
}
