package luaschema

import (
	"net"
	"regexp"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// TypedefsModule is the name plugins require the typedefs by.
const TypedefsModule = "kong.db.schema.typedefs"

// namedKey is the registry table mapping the typedefs' validator
// functions of a state to the names Gatehouse's schemas know them by
// (the "x_gatehouse_validator" attribute).
const namedKey = "gatehouse.named_validators"

// typedefsSource builds kong.db.schema.typedefs from V, the Go validators
// and the null sentinel. Each typedef is callable, as Kong's
// Schema.define makes them: typedefs.host { required = true } returns the
// given table completed with the typedef's attributes.
const typedefsSource = `
local V = ...
local null = V.null
local mt = {
  __call = function(self, overrides)
    local out = {}
    if type(overrides) == "table" then
      for k, v in pairs(overrides) do out[k] = v end
    end
    for k, v in pairs(self) do
      if out[k] == nil then out[k] = v end
    end
    return out
  end,
}
local function define(t) return setmetatable(t, mt) end

local http_protocols = { "grpc", "grpcs", "http", "https" }
local all_protocols = { "grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss" }

local T = {}
T.http_method = define { type = "string", match = "^%u+$" }
T.protocol = define { type = "string", one_of = all_protocols }
T.host = define { type = "string", custom_validator = V.host }
T.redis_host = define { type = "string", custom_validator = V.host }
T.host_with_optional_port = define { type = "string", custom_validator = V.host_with_optional_port }
T.wildcard_host = define { type = "string", custom_validator = V.wildcard_host }
T.ip = define { type = "string", custom_validator = V.ip }
T.ip_or_cidr = define { type = "string", custom_validator = V.ip_or_cidr }
T.cidr_v4 = define { type = "string", custom_validator = V.cidr_v4 }
T.cidr = T.cidr_v4
T.port = define { type = "integer", between = { 0, 65535 } }
T.path = define { type = "string", starts_with = "/", custom_validator = V.path }
T.url = define { type = "string", custom_validator = V.url }
T.cookie_name = define { type = "string", custom_validator = V.cookie_name }
T.header_name = define { type = "string", custom_validator = V.header_name }
T.timeout = define { type = "integer", between = { 0, 2147483646 } }
T.uuid = define { type = "string", uuid = true, auto = true }
T.auto_timestamp_s = define { type = "integer", timestamp = true, auto = true }
T.auto_timestamp_ms = define { type = "number", timestamp = true, auto = true }
T.no_route = define { type = "foreign", reference = "routes", eq = null }
T.no_service = define { type = "foreign", reference = "services", eq = null }
T.no_consumer = define { type = "foreign", reference = "consumers", eq = null }
T.no_consumer_group = define { type = "foreign", reference = "consumer_groups", eq = null }
T.name = define { type = "string", unique = true, custom_validator = V.name }
T.utf8_name = define { type = "string", unique = true, custom_validator = V.utf8_name }
T.sni = define { type = "string", custom_validator = V.sni }
T.redis_server_name = define { type = "string", custom_validator = V.sni }
T.certificate = define { type = "string", custom_validator = V.certificate }
T.key = define { type = "string", custom_validator = V.key }
T.tag = define { type = "string", required = true, custom_validator = V.tag }
T.tags = define { type = "set", elements = T.tag }
T.protocols = define { type = "set", required = true, default = http_protocols, elements = T.protocol }
T.protocols_http = define { type = "set", required = true, default = http_protocols,
                            elements = { type = "string", one_of = http_protocols } }
T.semantic_version = define { type = "string", match = "^%d+[%.%d]*$" }
T.ttl = define { type = "number", between = { 0, 100000000 } }
-- 1.x: run_on (service mesh), accepted and ignored by the converter.
T.run_on = define { type = "string", required = true, default = "first", one_of = { "first", "second", "all" } }
T.run_on_first = T.run_on { default = "first" }
return T
`

var (
	typedefsOnce  sync.Once
	typedefsProto *lua.FunctionProto
)

// goValidator is one typedef validator: Gatehouse's validator of that
// name checks it when name is set (the schema carries the name and the
// node runs it); fn checks it in Lua otherwise, with Kong's messages.
type goValidator struct {
	name string
	fn   func(s string) string
}

var goValidators = map[string]goValidator{
	"host":                    {name: "host"},
	"path":                    {name: "path"},
	"url":                     {name: "url"},
	"header_name":             {name: "header_name"},
	"sni":                     {name: "sni"},
	"utf8_name":               {name: "utf8_name"},
	"tag":                     {name: "tag"},
	"ip_or_cidr":              {name: "ip_or_cidr"},
	"certificate":             {name: "pem_certificate"},
	"key":                     {name: "pem_key"},
	"ip":                      {fn: checkIP},
	"cidr_v4":                 {fn: checkCIDRv4},
	"name":                    {fn: checkName},
	"host_with_optional_port": {fn: checkHostOptionalPort},
	"wildcard_host":           {fn: checkWildcardHost},
	"cookie_name":             {fn: checkCookieName},
}

// Preload registers kong.db.schema.typedefs in L's package.preload.
func Preload(L *lua.LState) {
	preload, ok := L.GetField(L.GetGlobal("package"), "preload").(*lua.LTable)
	if !ok {
		return
	}
	L.SetField(preload, TypedefsModule, L.NewFunction(loadTypedefs))
}

func loadTypedefs(L *lua.LState) int {
	typedefsOnce.Do(func() {
		chunk, err := parse.Parse(strings.NewReader(typedefsSource), "="+TypedefsModule)
		if err != nil {
			panic(err)
		}
		if typedefsProto, err = lua.Compile(chunk, "="+TypedefsModule); err != nil {
			panic(err)
		}
	})
	v := L.NewTable()
	named := namedTable(L)
	for key, gv := range goValidators {
		var fn *lua.LFunction
		if gv.name != "" {
			// Checked by the node: in Lua it accepts (the node refuses
			// before the Lua checks run).
			fn = L.NewFunction(func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
			named.RawSet(fn, lua.LString(gv.name))
		} else {
			check := gv.fn
			fn = L.NewFunction(func(L *lua.LState) int {
				s, ok := L.Get(1).(lua.LString)
				if !ok {
					L.Push(lua.LTrue)
					return 1
				}
				if msg := check(string(s)); msg != "" {
					L.Push(lua.LNil)
					L.Push(lua.LString(msg))
					return 2
				}
				L.Push(lua.LTrue)
				return 1
			})
		}
		v.RawSetString(key, fn)
	}
	v.RawSetString("null", luavalue.Null(L))
	L.Push(L.NewFunctionFromProto(typedefsProto))
	L.Push(v)
	L.Call(1, 1)
	return 1
}

func namedTable(L *lua.LState) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if t, ok := reg.RawGetString(namedKey).(*lua.LTable); ok {
		return t
	}
	t := L.NewTable()
	reg.RawSetString(namedKey, t)
	return t
}

// namedValidator returns the Gatehouse validator name of a typedef's
// function, or "".
func namedValidator(L *lua.LState, fn lua.LValue) string {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	t, ok := reg.RawGetString(namedKey).(*lua.LTable)
	if !ok {
		return ""
	}
	if s, ok := t.RawGet(fn).(lua.LString); ok {
		return string(s)
	}
	return ""
}

// Kong's messages for the typedef checks run in Lua.

func checkIP(s string) string {
	if net.ParseIP(s) == nil {
		return "not an ip address: " + s
	}
	return ""
}

func checkCIDRv4(s string) string {
	ip := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		_, n, err := net.ParseCIDR(s)
		if err != nil || n.IP.To4() == nil {
			return "invalid ipv4 cidr range: '" + s + "'"
		}
		return ""
	}
	if p := net.ParseIP(ip); p == nil || p.To4() == nil {
		return "invalid ipv4 cidr range: '" + s + "'"
	}
	return ""
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9.\-_~]+$`)

func checkName(s string) string {
	if !namePattern.MatchString(s) {
		return "invalid value '" + s + "': it must only contain alphanumeric and '., -, _, ~' characters"
	}
	return ""
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?$`)

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if net.ParseIP(strings.Trim(s, "[]")) != nil {
		return true
	}
	for _, l := range strings.Split(s, ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func checkHostOptionalPort(s string) string {
	h := s
	if host, port, err := net.SplitHostPort(s); err == nil {
		h = host
		if port == "" {
			return "invalid port number"
		}
	}
	if !validHost(h) {
		return "invalid value: " + s
	}
	return ""
}

func checkWildcardHost(s string) string {
	h := s
	if i := strings.IndexByte(s, '*'); i >= 0 {
		if i != 0 && i != len(s)-1 {
			return "wildcard must be leftmost or rightmost character"
		}
		if strings.Count(s, "*") > 1 {
			return "only one wildcard must be specified"
		}
		h = strings.Replace(s, "*", "wildcard", 1)
	}
	if net.ParseIP(strings.Trim(h, "[]")) != nil {
		return "must not be an IP"
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return "must not have a port"
	}
	if !validHost(h) {
		return "invalid value: " + s
	}
	return ""
}

func checkCookieName(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return "contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] are not allowed."
		}
	}
	return ""
}
