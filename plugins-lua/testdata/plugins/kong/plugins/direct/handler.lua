-- A plugin in kong/plugins/NAME right in the plugins folder.
return {
  PRIORITY = 5,
  VERSION = "0.1.0",
  access = function(self, conf)
    test_set_header("x-direct", conf.value)
  end,
}
