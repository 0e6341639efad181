-- cjson shapes Kong plugins rely on.
local cjson = require "cjson"
local body = cjson.decode('{"items":[],"meta":{"next":null},"n":3}')
assert(type(body.items) == "table" and #body.items == 0)
assert(body.meta.next == cjson.null)
assert(cjson.encode(body.meta) == '{"next":null}')
assert(cjson.encode({ message = "Unauthorized" }) == '{"message":"Unauthorized"}')
assert(cjson.encode({ 1, 2, 3 }) == "[1,2,3]")
assert(cjson.encode({ path = "/a/b" }) == '{"path":"\\/a\\/b"}')
local safe = require "cjson.safe"
local v, err = safe.decode("{bad")
assert(v == nil and err == "Expected object key string but found invalid token at character 2", err)
local ok, perr = pcall(cjson.encode, { f = function() end })
assert(not ok and perr:find("Cannot serialise function: type not supported", 1, true), perr)
return "ok"
