package store

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/store/routeregex"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Kong's entities, declared once. The order is dependency order.

var serviceProtocols = oneOf("grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss")

// Services declares Kong's services entity.
func Services() *Entity {
	return &Entity{
		Name: "services", Path: "services", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(), createdAtField(), updatedAtField(),
				nameField(true),
				{Name: "retries", Type: schema.Integer, Default: int64(5), Between: schema.Range(0, 32767)},
				{Name: "protocol", Type: schema.String, Required: true, Default: "http", OneOf: serviceProtocols},
				hostField("host", true),
				portField("port", int64(80)),
				pathField("path"),
				timeoutField("connect_timeout"),
				timeoutField("write_timeout"),
				timeoutField("read_timeout"),
				tagsField(),
				foreignField("client_certificate", "certificates", false, ""),
				{Name: "tls_verify", Type: schema.Boolean},
				{Name: "tls_verify_depth", Type: schema.Integer, Between: schema.Range(0, 64)},
				{Name: "ca_certificates", Type: schema.Array, Elements: &schema.Field{Type: schema.String, UUID: true}},
				{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
			},
			Conditionals: []schema.Conditional{
				{If: "protocol", When: schema.OneOfStrings("tcp", "tls", "tls_passthrough", "udp", "grpc", "grpcs"), Then: "path", Check: schema.MustBeNull},
				{If: "protocol", When: notOneOf("https", "tls", "wss"), Then: "client_certificate", Check: schema.MustBeNull},
				{If: "protocol", When: notOneOf("https", "tls", "wss"), Then: "tls_verify", Check: schema.MustBeNull},
				{If: "protocol", When: notOneOf("https", "tls", "wss"), Then: "tls_verify_depth", Check: schema.MustBeNull},
				{If: "protocol", When: notOneOf("https", "tls", "wss"), Then: "ca_certificates", Check: schema.MustBeNull},
			},
		},
		Shorthand: serviceURLShorthand,
	}
}

func notOneOf(values ...string) func(any) bool {
	in := schema.OneOfStrings(values...)
	return func(v any) bool { return !in(v) }
}

// serviceURLShorthand splits `url` into protocol, host, port and path.
func serviceURLShorthand(in map[string]any) schema.Errors {
	raw, present := in["url"]
	if !present {
		return nil
	}
	delete(in, "url")
	s, ok := raw.(string)
	if !ok {
		if raw == nil {
			return nil
		}
		return schema.Errors{"url": "expected a string"}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return schema.Errors{"url": "missing host in url"}
	}
	in["protocol"] = strings.ToLower(u.Scheme)
	in["host"] = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return schema.Errors{"url": "invalid port in url"}
		}
		in["port"] = int64(n)
	} else {
		if in["protocol"] == "https" {
			in["port"] = int64(443)
		} else {
			in["port"] = int64(80)
		}
	}
	if u.EscapedPath() != "" {
		in["path"] = u.EscapedPath()
	} else {
		in["path"] = nil
	}
	return nil
}

var routeProtocols = oneOf("grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss")

// Routes declares Kong's routes entity.
func Routes() *Entity {
	return &Entity{
		Name: "routes", Path: "routes", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(), createdAtField(), updatedAtField(),
				nameField(true),
				{Name: "protocols", Type: schema.Set, Required: true, Default: []any{"http", "https"}, LenMin: 1,
					Elements: &schema.Field{Type: schema.String, OneOf: routeProtocols}, Check: checkProtocolGroups},
				{Name: "methods", Type: schema.Set, Elements: &schema.Field{Type: schema.String, Check: checkMethod}},
				{Name: "hosts", Type: schema.Array, Elements: &schema.Field{Type: schema.String, Check: checkRouteHost}},
				{Name: "paths", Type: schema.Array, Elements: &schema.Field{Type: schema.String, Check: checkRoutePath}},
				{Name: "headers", Type: schema.Map, Keys: &schema.Field{Type: schema.String, Check: checkHeaderName},
					Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}},
				{Name: "https_redirect_status_code", Type: schema.Integer, Required: true, Default: int64(426), OneOf: intsOneOf(426, 301, 302, 307, 308)},
				{Name: "regex_priority", Type: schema.Integer, Default: int64(0)},
				{Name: "strip_path", Type: schema.Boolean, Required: true, Default: true},
				{Name: "path_handling", Type: schema.String, Default: "v0", OneOf: oneOf("v0", "v1")},
				{Name: "preserve_host", Type: schema.Boolean, Required: true, Default: false},
				{Name: "request_buffering", Type: schema.Boolean, Required: true, Default: true},
				{Name: "response_buffering", Type: schema.Boolean, Required: true, Default: true},
				{Name: "snis", Type: schema.Set, Elements: &schema.Field{Type: schema.String, Check: checkSNIName}},
				endpointsField("sources"),
				endpointsField("destinations"),
				tagsField(),
				foreignField("service", "services", false, ""),
			},
			Checks:       []func(map[string]any) []string{checkRouteRules, checkHeaderRegexes},
			Conditionals: routeCannotSet(),
		},
		Shorthand: routeShorthand,
	}
}

// endpointsField declares a route's sources or destinations: {ip, port}
// records with at least one of the two.
func endpointsField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Set, Elements: &schema.Field{Type: schema.Record,
		Fields: []*schema.Field{
			{Name: "ip", Type: schema.String, Check: checkIPOrCIDR},
			{Name: "port", Type: schema.Integer, Between: schema.Range(0, 65535)},
		},
		Check: func(v any) string {
			m, _ := v.(map[string]any)
			if m["ip"] == nil && m["port"] == nil {
				return "at least one of these fields must be non-empty: 'ip', 'port'"
			}
			return ""
		}}}
}

func checkIPOrCIDR(v any) string {
	s, _ := v.(string)
	if _, err := netip.ParsePrefix(s); err == nil {
		return ""
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return ""
	}
	return "invalid ip or cidr range: '" + s + "'"
}

// routeShorthand accepts headers given as "name:value" strings (form bodies)
// and header values given as a single string.
func routeShorthand(in map[string]any) schema.Errors {
	if _, given := in["strip_path"]; !given {
		var protos []any
		switch t := in["protocols"].(type) {
		case string:
			protos = []any{t}
		case []any:
			protos = t
		}
		for _, p := range protos {
			if p == "grpc" || p == "grpcs" {
				in["strip_path"] = false // the grpc subschema's default
			}
		}
	}
	h, ok := in["headers"].(map[string]any)
	if !ok {
		return nil
	}
	for k, v := range h {
		if s, isStr := v.(string); isStr {
			parts := strings.Split(s, ",")
			list := make([]any, 0, len(parts))
			for _, p := range parts {
				list = append(list, strings.TrimSpace(p))
			}
			h[k] = list
		}
	}
	return nil
}

func checkMethod(v any) string {
	s, _ := v.(string)
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return "invalid value: " + s
		}
	}
	return ""
}

func checkRouteHost(v any) string {
	s, _ := v.(string)
	host := s
	if i := strings.LastIndex(s, ":"); i > 0 && !strings.HasSuffix(s, "]") && strings.Count(s, ":") == 1 {
		host = s[:i]
		if p, err := strconv.Atoi(s[i+1:]); err != nil || p < 0 || p > 65535 {
			return "invalid port number"
		}
	}
	if strings.Count(host, "*") > 1 {
		return "invalid wildcard: must have at most one wildcard"
	}
	if strings.Contains(host, "*") && !strings.HasPrefix(host, "*.") && !strings.HasSuffix(host, ".*") {
		return "invalid wildcard: must be placed at leftmost or rightmost label"
	}
	if !validHostname(host, true) {
		return "invalid hostname: " + host
	}
	return ""
}

func checkSNIName(v any) string {
	s, _ := v.(string)
	if net := strings.Trim(s, "[]"); isIP(net) {
		return "must not be an IP"
	}
	if !validHostname(s, true) {
		return "invalid hostname: " + s
	}
	return ""
}

var headerNamePattern = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+\-.^_` + "`" + `|~]+$`)

func checkHeaderName(v any) string {
	s, _ := v.(string)
	if strings.EqualFold(s, "host") {
		return "cannot contain 'host' header, which must be specified in the 'hosts' attribute"
	}
	if !headerNamePattern.MatchString(s) {
		return "invalid header name: " + s
	}
	return ""
}

// checkHeaderRegexes refuses header values "~*<re>" the router cannot
// compile, as Kong's traditional_compatible router refuses the route's
// expression.
func checkHeaderRegexes(rec map[string]any) []string {
	h, _ := rec["headers"].(map[string]any)
	for _, name := range SortedKeys(h) {
		vals, _ := h[name].([]any)
		for _, v := range vals {
			s, _ := v.(string)
			if !strings.HasPrefix(s, "~*") {
				continue
			}
			if err := routeregex.CheckHeader(s); err != nil {
				return []string{"Router Expression failed validation: regex parse error: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
			}
		}
	}
	return nil
}

func checkRoutePath(v any) string {
	s, _ := v.(string)
	if strings.HasPrefix(s, "~") {
		re := s[1:]
		if !strings.HasPrefix(re, "/") {
			return "should start with: / (fixed path) or ~/ (regex path)"
		}
		if err := routeregex.CheckPath(s); err != nil {
			return fmt.Sprintf("invalid regex: '%s' (PCRE returned: %s)", re, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return ""
	}
	if !strings.HasPrefix(s, "/") {
		return "should start with: / (fixed path) or ~/ (regex path)"
	}
	if strings.Contains(s, "//") {
		return "must not have empty segments"
	}
	if strings.ContainsAny(s, "?#") {
		return "invalid path: '" + s + "' (characters '?' and '#' are not allowed)"
	}
	return ""
}

func isIP(s string) bool {
	return len(s) > 0 && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '.' || r == ':' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F'))
	}) < 0 && strings.ContainsAny(s, ".:") && (strings.Count(s, ".") == 3 || strings.Contains(s, ":"))
}

func hasItems(v any) bool {
	switch t := v.(type) {
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return false
}

// checkRouteRules enforces that a route matches on something suited to its
// protocols, as Kong's route entity checks do.
func checkRouteRules(rec map[string]any) []string {
	protos, _ := rec["protocols"].([]any)
	has := map[string]bool{}
	for _, p := range protos {
		if s, ok := p.(string); ok {
			has[s] = true
		}
	}
	if checkProtocolGroups(protos) != "" {
		return nil // reported on the protocols field
	}
	set := func(f string) bool { return hasItems(rec[f]) }
	var out []string
	switch {
	case has["https"] || has["http"]:
		if !set("methods") && !set("hosts") && !set("headers") && !set("paths") {
			if has["https"] && !set("snis") {
				out = append(out, "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'")
			} else if !has["https"] {
				out = append(out, "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'")
			}
		}
	case has["ws"] || has["wss"]:
		if !set("hosts") && !set("headers") && !set("paths") && !(has["wss"] && set("snis")) {
			out = append(out, "must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'ws' or 'wss'")
		}
	case has["grpc"] || has["grpcs"]:
		if !set("hosts") && !set("headers") && !set("paths") {
			if has["grpcs"] && !set("snis") {
				out = append(out, "must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'")
			} else if !has["grpcs"] {
				out = append(out, "must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'")
			}
		}
	case has["tls_passthrough"]:
		if !set("snis") {
			out = append(out, "must set snis when 'protocols' is 'tls_passthrough'")
		}
	case has["tcp"] || has["tls"] || has["udp"]:
		if !set("sources") && !set("destinations") && !set("snis") {
			out = append(out, "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'")
		}
	}
	if set("snis") && !has["https"] && !has["grpcs"] && !has["tls"] && !has["tls_passthrough"] && !has["wss"] {
		out = append(out, "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'")
	}
	return out
}

var protocolGroups = [][]string{{"http", "https"}, {"tcp", "tls", "udp"}, {"tls_passthrough"}, {"grpc", "grpcs"}, {"ws", "wss"}}

// checkProtocolGroups rejects protocols from more than one of Kong's
// mutually exclusive sets, naming the sets involved.
func checkProtocolGroups(v any) string {
	protos, _ := v.([]any)
	var hit []string
	for _, g := range protocolGroups {
		for _, p := range protos {
			if containsString(g, p) {
				hit = append(hit, "('"+strings.Join(g, "', '")+"')")
				break
			}
		}
	}
	if len(hit) > 1 {
		return "these sets are mutually exclusive: " + strings.Join(hit, ", ")
	}
	return ""
}

func containsString(list []string, v any) bool {
	s, _ := v.(string)
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// routeCannotSet lists the fields each protocol family forbids, reported on
// the field as Kong's route subschemas do.
func routeCannotSet() []schema.Conditional {
	hasAny := func(ps ...string) func(any) bool {
		return func(v any) bool {
			list, _ := v.([]any)
			for _, p := range list {
				if containsString(ps, p) {
					return true
				}
			}
			return false
		}
	}
	var out []schema.Conditional
	add := func(when func(any) bool, label string, fields ...string) {
		for _, f := range fields {
			msg := fmt.Sprintf("cannot set '%s' when 'protocols' is %s", f, label)
			out = append(out, schema.Conditional{If: "protocols", When: when, Then: f, Quiet: true, Check: func(v any) string {
				if hasItems(v) {
					return msg
				}
				return ""
			}})
		}
	}
	add(hasAny("http", "https"), "'http' or 'https'", "sources", "destinations")
	add(hasAny("grpc", "grpcs"), "'grpc' or 'grpcs'", "methods", "sources", "destinations")
	add(hasAny("tcp", "tls", "udp", "tls_passthrough"), "'tcp', 'tls', 'tls_passthrough' or 'udp'", "methods", "hosts", "paths", "headers")
	out = append(out, schema.Conditional{If: "protocols", When: hasAny("grpc", "grpcs"), Then: "strip_path", Quiet: true, Check: func(v any) string {
		if b, _ := v.(bool); b {
			return "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"
		}
		return ""
	}})
	return out
}

// Consumers declares Kong's consumers entity.
func Consumers() *Entity {
	return &Entity{
		Name: "consumers", Path: "consumers", EndpointKey: "username",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(), createdAtField(), updatedAtField(),
				{Name: "username", Type: schema.String, Unique: true},
				{Name: "custom_id", Type: schema.String, Unique: true},
				tagsField(),
			},
			Checks: []func(map[string]any) []string{func(rec map[string]any) []string {
				if rec["username"] == nil && rec["custom_id"] == nil {
					return []string{"at least one of these fields must be non-empty: 'custom_id', 'username'"}
				}
				return nil
			}},
		},
	}
}

// Plugins declares Kong's plugins entity. The config field is replaced per
// plugin by the schema its plugin registers.
func Plugins() *Entity {
	return &Entity{
		Name: "plugins", Path: "plugins", EndpointKey: "instance_name",
		CacheKey:     []string{"name", "route", "service", "consumer"},
		KongCacheKey: []string{"name", "route", "service", "consumer", "consumer_group"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Immutable: true},
				{Name: "instance_name", Type: schema.String, Unique: true, Check: checkUTF8Name},
				createdAtField(), updatedAtField(),
				foreignField("route", "routes", false, "cascade"),
				foreignField("service", "services", false, "cascade"),
				foreignField("consumer", "consumers", false, "cascade"),
				{Name: "config", Type: schema.Record},
				{Name: "protocols", Type: schema.Set, Required: true, Default: []any{"grpc", "grpcs", "http", "https"},
					Elements: &schema.Field{Type: schema.String, OneOf: routeProtocols}},
				{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
				tagsField(),
				{Name: "ordering", Type: schema.Record, Optional: true, Fields: []*schema.Field{
					{Name: "before", Type: schema.Map, Keys: &schema.Field{Type: schema.String, OneOf: oneOf("access")},
						Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}},
					{Name: "after", Type: schema.Map, Keys: &schema.Field{Type: schema.String, OneOf: oneOf("access")},
						Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}},
				}},
			},
		},
	}
}

func healthchecksField() *schema.Field {
	statuses := func(name string, def []any) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Default: def,
			Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 999)}}
	}
	counter := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Integer, Default: int64(0), Between: schema.Range(0, 255)}
	}
	interval := &schema.Field{Name: "interval", Type: schema.Number, Default: float64(0), Between: schema.Range(0, 65535), Check: checkInterval,
		Description: "Seconds between active probes: 0 disables them; a nonzero interval must be at least 0.1 (Gatehouse's floor)."}
	hc := &schema.Field{Name: "healthchecks", Type: schema.Record, Fields: []*schema.Field{
		{Name: "active", Type: schema.Record, Fields: []*schema.Field{
			{Name: "type", Type: schema.String, Default: "http", OneOf: oneOf("tcp", "http", "https", "grpc", "grpcs")},
			{Name: "timeout", Type: schema.Number, Default: float64(1), Between: schema.Range(0, 65535)},
			{Name: "concurrency", Type: schema.Integer, Default: int64(10), Between: schema.Range(1, 2147483648)},
			{Name: "http_path", Type: schema.String, Default: "/", StartsWith: "/"},
			{Name: "https_sni", Type: schema.String},
			{Name: "https_verify_certificate", Type: schema.Boolean, Default: true},
			{Name: "headers", Type: schema.Map, Keys: &schema.Field{Type: schema.String},
				Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}},
			{Name: "healthy", Type: schema.Record, Fields: []*schema.Field{
				interval, statuses("http_statuses", ints(200, 302)), counter("successes")}},
			{Name: "unhealthy", Type: schema.Record, Fields: []*schema.Field{
				interval, statuses("http_statuses", ints(429, 404, 500, 501, 502, 503, 504, 505)),
				counter("tcp_failures"), counter("timeouts"), counter("http_failures")}},
		}},
		{Name: "passive", Type: schema.Record, Fields: []*schema.Field{
			{Name: "type", Type: schema.String, Default: "http", OneOf: oneOf("tcp", "http", "https", "grpc", "grpcs")},
			{Name: "healthy", Type: schema.Record, Fields: []*schema.Field{
				statuses("http_statuses", ints(200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308)),
				counter("successes")}},
			{Name: "unhealthy", Type: schema.Record, Fields: []*schema.Field{
				statuses("http_statuses", ints(429, 500, 503)),
				counter("tcp_failures"), counter("timeouts"), counter("http_failures")}},
		}},
		{Name: "threshold", Type: schema.Number, Default: float64(0), Between: schema.Range(0, 100)},
	}}
	// Kong's gen_fields gives each record of the tree the table of its
	// fields' defaults as its default; threshold is added after, outside it.
	hc.Default = recordDefaults(hc.Fields[:2])
	return hc
}

// recordDefaults sets the default of every record among fields to the
// defaults of its own fields, bottom up, and returns the defaults of fields.
func recordDefaults(fields []*schema.Field) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		if f.Type == schema.Record {
			f.Default = recordDefaults(f.Fields)
		}
		if f.Default != nil {
			out[f.Name] = schema.Clone(f.Default)
		}
	}
	return out
}

func checkUpstreamName(v any) string {
	s, _ := v.(string)
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return "Invalid name ('" + s + "'); no ip addresses allowed"
	}
	if i := strings.LastIndex(s, ":"); i > 0 {
		return "Invalid name ('" + s + "'); no port allowed"
	}
	if !validHostname(s, false) {
		return "Invalid name ('" + s + "'); must be a valid hostname"
	}
	return ""
}

var hashOn = oneOf("none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture")

// Upstreams declares Kong's upstreams entity.
func Upstreams() *Entity {
	return &Entity{
		Name: "upstreams", Path: "upstreams", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(), createdAtField(), updatedAtField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, Check: checkUpstreamName},
				{Name: "algorithm", Type: schema.String, Default: "round-robin", OneOf: oneOf("consistent-hashing", "least-connections", "round-robin", "latency")},
				{Name: "hash_on", Type: schema.String, Default: "none", OneOf: hashOn},
				{Name: "hash_fallback", Type: schema.String, Default: "none", OneOf: hashOn},
				{Name: "hash_on_header", Type: schema.String, Check: checkHeaderName},
				{Name: "hash_fallback_header", Type: schema.String, Check: checkHeaderName},
				{Name: "hash_on_cookie", Type: schema.String},
				{Name: "hash_on_cookie_path", Type: schema.String, Default: "/", StartsWith: "/"},
				{Name: "hash_on_query_arg", Type: schema.String},
				{Name: "hash_fallback_query_arg", Type: schema.String},
				{Name: "hash_on_uri_capture", Type: schema.String},
				{Name: "hash_fallback_uri_capture", Type: schema.String},
				{Name: "slots", Type: schema.Integer, Default: int64(10000), Between: schema.Range(10, 65536)},
				healthchecksField(),
				tagsField(),
				hostField("host_header", false),
				foreignField("client_certificate", "certificates", false, ""),
				{Name: "use_srv_name", Type: schema.Boolean, Default: false},
			},
			Conditionals: []schema.Conditional{
				{If: "hash_on", When: schema.OneOfStrings("header"), Then: "hash_on_header", Check: schema.Required},
				{If: "hash_fallback", When: schema.OneOfStrings("header"), Then: "hash_fallback_header", Check: schema.Required},
				{If: "hash_on", When: schema.OneOfStrings("cookie"), Then: "hash_on_cookie", Check: schema.Required},
				{If: "hash_fallback", When: schema.OneOfStrings("cookie"), Then: "hash_on_cookie", Check: schema.Required},
				{If: "hash_on", When: schema.OneOfStrings("query_arg"), Then: "hash_on_query_arg", Check: schema.Required},
				{If: "hash_fallback", When: schema.OneOfStrings("query_arg"), Then: "hash_fallback_query_arg", Check: schema.Required},
				{If: "hash_on", When: schema.OneOfStrings("uri_capture"), Then: "hash_on_uri_capture", Check: schema.Required},
				{If: "hash_fallback", When: schema.OneOfStrings("uri_capture"), Then: "hash_fallback_uri_capture", Check: schema.Required},
				{If: "hash_on", When: schema.OneOfStrings("none", "cookie"), Then: "hash_fallback", Check: func(v any) string {
					if v != "none" {
						return "expected one of: none"
					}
					return ""
				}},
			},
			Checks: []func(map[string]any) []string{checkUpstreamHashing},
		},
	}
}

func checkUpstreamHashing(rec map[string]any) []string {
	on, _ := rec["hash_on"].(string)
	fb, _ := rec["hash_fallback"].(string)
	if on != "" && on != "none" && on == fb && on != "header" && on != "query_arg" && on != "uri_capture" {
		return []string{"failed conditional validation given value of field 'hash_on'"}
	}
	for _, pair := range [][2]string{{"hash_on_header", "hash_fallback_header"}, {"hash_on_query_arg", "hash_fallback_query_arg"}, {"hash_on_uri_capture", "hash_fallback_uri_capture"}} {
		a, b := rec[pair[0]], rec[pair[1]]
		if a != nil && b != nil && fmt.Sprint(a) == fmt.Sprint(b) {
			return []string{fmt.Sprintf("values of these fields must be distinct: '%s', '%s'", pair[0], pair[1])}
		}
	}
	return nil
}

// Targets declares Kong's targets entity.
func Targets() *Entity {
	return &Entity{
		Name: "targets", Path: "targets", EndpointKey: "target",
		CacheKey:     []string{"upstream", "target"},
		KongCacheKey: []string{"upstream", "target"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "created_at", Type: schema.Number, Timestamp: true, Auto: true},
				{Name: "updated_at", Type: schema.Number, Timestamp: true, Auto: true},
				foreignField("upstream", "upstreams", true, "cascade"),
				{Name: "target", Type: schema.String, Required: true, Check: checkTarget},
				{Name: "weight", Type: schema.Integer, Default: int64(100), Between: schema.Range(0, 65535)},
				tagsField(),
			},
		},
		Shorthand: func(in map[string]any) schema.Errors {
			// Kong validates the target as given, then adds the default
			// port: an invalid one is left alone for checkTarget to report.
			if s, ok := in["target"].(string); ok && s != "" {
				if _, valid := normalizeIP(s); valid {
					in["target"] = normalizeTarget(s)
				}
			}
			return nil
		},
	}
}

// NormalizeTarget appends Kong's default target port 8000 when none is
// given, as Kong stores targets.
func NormalizeTarget(s string) string { return normalizeTarget(s) }

// normalizeTarget appends Kong's default target port 8000 when none is given.
func normalizeTarget(s string) string {
	if strings.HasPrefix(s, "[") {
		if strings.Contains(s, "]:") {
			return s
		}
		return s + ":8000"
	}
	if strings.Count(s, ":") == 1 {
		return s
	}
	if strings.Count(s, ":") > 1 { // bare IPv6
		return "[" + s + "]:8000"
	}
	return s + ":8000"
}

func checkTarget(v any) string {
	s, _ := v.(string)
	if !utf8.ValidString(s) {
		return "Invalid target; not a valid hostname or ip address"
	}
	if _, ok := normalizeIP(s); !ok {
		return "Invalid target ('" + s + "'); not a valid hostname or ip address"
	}
	i := strings.LastIndex(s, ":")
	if i <= 0 {
		return "Invalid target ('" + s + "'); not a valid hostname or ip address"
	}
	host, port := strings.Trim(s[:i], "[]"), s[i+1:]
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "Invalid target ('" + s + "'); not a valid hostname or ip address"
	}
	if !validHostname(host, false) {
		return "Invalid target ('" + s + "'); not a valid hostname or ip address"
	}
	return ""
}

func checkPEMCert(v any) string {
	s, _ := v.(string)
	if b, _ := pem.Decode([]byte(s)); b == nil || !strings.Contains(b.Type, "CERTIFICATE") {
		return "invalid certificate: x509.new: asn1/tasn_dec.c:309:error:0D07803A:asn1 encoding routines:asn1_item_embed_d2i:nested asn1 error"
	}
	return ""
}

func checkPEMKey(v any) string {
	s, _ := v.(string)
	if b, _ := pem.Decode([]byte(s)); b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
		return "invalid key: pkey.new:load_key: failed to load the key"
	}
	return ""
}

// Certificates declares Kong's certificates entity.
func Certificates() *Entity {
	return &Entity{
		Name: "certificates", Path: "certificates", UpsertByAnyKey: true, TakeInput: takeSNIs,
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(), createdAtField(), updatedAtField(),
				{Name: "cert", Type: schema.String, Required: true, Referenceable: true, Check: checkPEMCert},
				{Name: "key", Type: schema.String, Required: true, Referenceable: true, Encrypted: true, Check: checkPEMKey},
				{Name: "cert_alt", Type: schema.String, Referenceable: true, Check: checkPEMCert},
				{Name: "key_alt", Type: schema.String, Referenceable: true, Encrypted: true, Check: checkPEMKey},
				tagsField(),
			},
			Checks: []func(map[string]any) []string{func(rec map[string]any) []string {
				if (rec["cert_alt"] == nil) != (rec["key_alt"] == nil) {
					return []string{"all or none of these fields must be set: 'cert_alt', 'key_alt'"}
				}
				if !keyMatches(rec["cert"], rec["key"]) {
					return []string{"certificate does not match key"}
				}
				if rec["cert_alt"] != nil && !keyMatches(rec["cert_alt"], rec["key_alt"]) {
					return []string{"alternative certificate does not match key"}
				}
				return nil
			}},
		},
	}
}

// keyMatches reports whether a PEM certificate and key belong together; it
// is true when either is missing or unparseable (their own checks report it).
func keyMatches(cert, key any) bool {
	c, _ := cert.(string)
	k, _ := key.(string)
	if c == "" || k == "" || checkPEMCert(c) != "" || checkPEMKey(k) != "" {
		return true
	}
	_, err := tls.X509KeyPair([]byte(c), []byte(k))
	return err == nil
}

// SNIs declares Kong's snis entity.
func SNIs() *Entity {
	return &Entity{
		Name: "snis", Path: "snis", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, Check: checkSNIName},
				createdAtField(), updatedAtField(),
				tagsField(),
				foreignField("certificate", "certificates", true, "cascade"),
			},
		},
	}
}

// CACertificates declares Kong's ca_certificates entity.
func CACertificates() *Entity {
	return &Entity{
		Name: "ca_certificates", Path: "ca_certificates", BeforeDelete: caCertificateInUse,
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(), createdAtField(), updatedAtField(),
				{Name: "cert", Type: schema.String, Required: true, Referenceable: true, Check: checkPEMCert},
				{Name: "cert_digest", Type: schema.String, Unique: true},
				tagsField(),
			},
		},
		Generate: func(rec map[string]any) {
			cert, _ := rec["cert"].(string)
			b, _ := pem.Decode([]byte(cert))
			if b != nil {
				sum := sha256.Sum256(b.Bytes)
				rec["cert_digest"] = hex.EncodeToString(sum[:])
			}
		},
	}
}

// KongEntities returns the declarations of Kong's core entities, in
// dependency order. Entities owned by plugins (credentials, ACL groups) are
// declared by their plugins and given to New through Options.
func KongEntities() []*Entity {
	all := []*Entity{
		Certificates(), CACertificates(), SNIs(), Services(), Routes(), Consumers(), Upstreams(), Targets(),
		Plugins(), KeySets(), Keys(), FilterChains(), Policies(), DeniedIPs(), RBACRoles(), RBACRoleEndpoints(),
		RBACUsers(), Teams(), TeamMembers(), TeamAssets(), TeamRules(),
	}
	all = append(all, AdminEntities()...)
	return append(all, PortalEntities()...)
}

// foreignID returns the id inside a foreign-key value, or "".
func foreignID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}
