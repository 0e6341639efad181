return {
  name = "timer-user",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}
