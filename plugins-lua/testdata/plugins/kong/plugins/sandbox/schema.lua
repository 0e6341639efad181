return {
  name = "sandbox",
  fields = {
    { config = { type = "record", fields = {
      { outside = { type = "string", required = true } },
      { inside = { type = "string", required = true } },
    } } },
  },
}
