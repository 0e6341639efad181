return {
  no_consumer = true,
  fields = {
    greeting = { type = "string", default = "hello" },
  },
}
