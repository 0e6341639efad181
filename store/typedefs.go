package store

import (
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Kong's typedefs (kong/db/schema/typedefs.lua), public so that plugins
// declare their schemas with them instead of re-writing them. Each returns
// a new field the caller may adjust (a Description, a Default). Their
// custom validations are named validators (schema.RegisterValidator), so
// schemas built from them render and load back: "tag", "utf8_name",
// "host", "path", "header_name", "url", "sni". Kong's protocols_http is
// HTTPProtocols and its no_consumer PluginSchema.NoConsumer.

// Names of the validators the typedefs register.
const (
	ValidatorTag        = "tag"
	ValidatorUTF8Name   = "utf8_name"
	ValidatorHost       = "host"
	ValidatorPath       = "path"
	ValidatorHeaderName = "header_name"
)

func init() {
	schema.RegisterValidator(ValidatorTag, checkTag)
	schema.RegisterValidator(ValidatorUTF8Name, checkUTF8Name)
	schema.RegisterValidator(ValidatorHost, checkHost)
	schema.RegisterValidator(ValidatorPath, checkPath)
	schema.RegisterValidator(ValidatorHeaderName, checkPluginHeaderName)

	// The core entities' own validators, by name, so their declarations
	// can say Validator: "<name>" instead of Check: <func> and render
	// and load back like the plugins' (see schema.GoOnly).
	for name, fn := range map[string]func(any) string{
		"ip_or_cidr": checkIPOrCIDR, "http_method_name": checkMethod, "route_host": checkRouteHost,
		"sni": checkSNIName, "route_header_name": checkHeaderName, "route_path": checkRoutePath,
		"route_protocols": checkProtocolGroups, "upstream_name": checkUpstreamName, "target": checkTarget,
		"pem_certificate": checkPEMCert, "pem_key": checkPEMKey, "url": checkURL,
		"healthcheck_interval": checkInterval, "pem_key_pair": checkPEMPair,
	} {
		schema.RegisterValidator(name, fn)
	}
	for name, fn := range map[string]func(map[string]any) []string{
		"route_header_regexes": checkHeaderRegexes, "route_rules": checkRouteRules,
		"upstream_hashing": checkUpstreamHashing, "key_formats": checkKeyFormats,
	} {
		schema.RegisterRecordValidator(name, fn)
	}
}

// IDField is typedefs.uuid as Kong's primary keys use it: an auto-generated UUID.
func IDField() *schema.Field {
	return &schema.Field{Name: "id", Type: schema.String, UUID: true, Auto: true}
}

// CreatedAtField is typedefs.auto_timestamp_s named created_at.
func CreatedAtField() *schema.Field {
	return &schema.Field{Name: "created_at", Type: schema.Integer, Timestamp: true, Auto: true}
}

// UpdatedAtField is typedefs.auto_timestamp_s named updated_at.
func UpdatedAtField() *schema.Field {
	return &schema.Field{Name: "updated_at", Type: schema.Integer, Timestamp: true, Auto: true}
}

// TagsField is typedefs.tags: a set of tags of at most MaxIndexedLen
// characters each.
func TagsField() *schema.Field {
	return &schema.Field{Name: "tags", Type: schema.Set, Elements: &schema.Field{Type: schema.String, LenMax: MaxIndexedLen, Validator: ValidatorTag}}
}

func idField() *schema.Field        { return IDField() }
func createdAtField() *schema.Field { return CreatedAtField() }
func updatedAtField() *schema.Field { return UpdatedAtField() }
func tagsField() *schema.Field      { return TagsField() }

// checkTag is Kong's validate_tag: valid UTF-8 (checked for every string),
// then bytes from Kong's class [ \033-\043\045\046\048-\126\128-\244]:
// space, printable ASCII except ',' and '/', and non-ASCII UTF-8.
func checkTag(v any) string {
	s, _ := v.(string)
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == ' ' || (b >= 0x21 && b <= 0x7e && b != ',' && b != '/') || (b >= 0x80 && b <= 0xf4) {
			continue
		}
		return "invalid tag '" + s + "': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
	}
	return ""
}

// utf8NamePattern is Kong's validate_utf8_name: ASCII alphanumerics, '.',
// '-', '_', '~' and any non-ASCII character (Lua's [%w%.%-%_~\128-\244]).
var utf8NamePattern = regexp.MustCompile(`^[A-Za-z0-9.\-_~\x{80}-\x{10FFFF}]+$`)

// NameField is typedefs.utf8_name named name, unique when asked.
func NameField(unique bool) *schema.Field {
	return &schema.Field{Name: "name", Type: schema.String, Unique: unique, Validator: ValidatorUTF8Name}
}

func nameField(unique bool) *schema.Field { return NameField(unique) }

func checkUTF8Name(v any) string {
	s, _ := v.(string)
	if !utf8NamePattern.MatchString(s) {
		return "invalid value '" + s + "': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
	}
	return ""
}

var hostnameLabel = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?$`)

// validHostname reports whether s is a host name (labels of letters, digits,
// '-' and '_') or an IP address. wildcard allows one leading or trailing '*'
// label, as route hosts and SNIs do.
func validHostname(s string, wildcard bool) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if net.ParseIP(strings.Trim(s, "[]")) != nil {
		return true
	}
	labels := strings.Split(s, ".")
	for i, l := range labels {
		if wildcard && l == "*" && (i == 0 || i == len(labels)-1) && len(labels) > 1 {
			continue
		}
		if !hostnameLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// HostField is typedefs.host: a host name or IP address, without a port.
func HostField(name string, required bool) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Required: required, Validator: ValidatorHost}
}

func hostField(name string, required bool) *schema.Field { return HostField(name, required) }

func checkHost(v any) string {
	s, _ := v.(string)
	if h, p, err := net.SplitHostPort(s); err == nil && h != "" && p != "" {
		return "must not have a port"
	}
	if !validHostname(s, false) {
		return "invalid value: " + s
	}
	return ""
}

// PortField is typedefs.port: an integer between 0 and 65535, with def as
// its default (nil: none).
func PortField(name string, def any) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Default: def, Between: schema.Range(0, 65535)}
}

func portField(name string, def any) *schema.Field { return PortField(name, def) }

// TimeoutField is typedefs.timeout: milliseconds between lo (0 in Kong's
// typedef, 1 for the services' timeouts) and 2^31-2, with def as its
// default (nil: none).
func TimeoutField(name string, lo float64, def any) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Default: def, Between: schema.Range(lo, 2147483646)}
}

func timeoutField(name string) *schema.Field { return TimeoutField(name, 1, int64(60000)) }

// ForeignField is a foreign key to ref; onDelete is "cascade" or "".
func ForeignField(name, ref string, required bool, onDelete string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Foreign, Reference: ref, Required: required, OnDelete: onDelete}
}

func foreignField(name, ref string, required bool, onDelete string) *schema.Field {
	return ForeignField(name, ref, required, onDelete)
}

// ConsumerField is the required, cascading consumer foreign key of
// credential entities.
func ConsumerField() *schema.Field {
	return ForeignField("consumer", "consumers", true, "cascade")
}

func consumerField() *schema.Field { return ConsumerField() }

func oneOf(values ...string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

func intsOneOf(values ...int64) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

func ints(values ...int64) []any { return intsOneOf(values...) }

// PathField is typedefs.path: starts with '/', has no empty segments and
// no '?' or '#'.
func PathField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, StartsWith: "/", Validator: ValidatorPath}
}

func pathField(name string) *schema.Field { return PathField(name) }

func checkPath(v any) string {
	s, _ := v.(string)
	if strings.Contains(s, "//") {
		return "must not have empty segments"
	}
	if strings.ContainsAny(s, "?#") {
		return "invalid path: '" + s + "' (characters '?' and '#' are not allowed)"
	}
	return ""
}

// HeaderNameField is typedefs.header_name: letters, digits, '_' and '-'.
func HeaderNameField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Validator: ValidatorHeaderName}
}

// checkPluginHeaderName is typedefs.header_name's validation (the route
// entity's headers use a wider check, checkHeaderName).
func checkPluginHeaderName(v any) string {
	s, _ := v.(string)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return "bad header name '" + s + "', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
		}
	}
	return ""
}

// URLField is typedefs.url: an absolute URL with a scheme and a host.
func URLField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Validator: "url"}
}

// SNIField is typedefs.sni: a host name, wildcards allowed, not an IP.
func SNIField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Validator: "sni"}
}

// HTTPMethodField is typedefs.http_method: upper-case letters (Kong's
// pattern "^%u+$").
func HTTPMethodField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Pattern: "^%u+$"}
}

// MaxIndexedLen bounds the length, in characters, of every string the
// backends index: unique fields (names, usernames, custom_id, keys) and tags.
// Kong's typedefs set no upper bound, but Postgres refuses an index entry
// over 2704 bytes with an internal error while SQLite accepts it; 512
// characters (at most 2048 bytes of UTF-8) keep both backends alike and
// answer with Kong's "length must be at most 512" schema violation.
const MaxIndexedLen = 512

// boundIndexed gives the unique string fields of a schema, and those of
// its cache key, the indexed-length bound.
func boundIndexed(fields []*schema.Field, cacheKey []string) {
	inKey := map[string]bool{}
	for _, k := range cacheKey {
		inKey[k] = true
	}
	for _, f := range fields {
		if f.Type == schema.String && (f.Unique || inKey[f.Name]) && f.LenMax == 0 {
			f.LenMax = MaxIndexedLen
		}
	}
}

// MinHealthcheckInterval is the shortest nonzero active health-check
// interval Gatehouse accepts, in seconds. Kong bounds intervals by 0..65535
// only; a probe loop every microsecond keeps a CPU busy on an idle gateway,
// so shorter nonzero intervals are refused at write time.
const MinHealthcheckInterval = 0.1

func checkInterval(v any) string {
	if n, ok := v.(float64); ok && n > 0 && n < MinHealthcheckInterval {
		return "value must be 0 (disabled) or at least 0.1 seconds"
	}
	return ""
}

// ipAddr is what normalizeIP makes of an address: Kong's
// kong.tools.ip.normalize_ip result.
type ipAddr struct {
	kind string // "ipv4", "ipv6" or "name"
	host string
	port int // -1 when none
}

var (
	ipv4Pattern     = regexp.MustCompile(`^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d+))?$`)
	ipv6Group       = regexp.MustCompile(`^[0-9A-Fa-f]{1,4}$`)
	hostnameChars   = regexp.MustCompile(`^[0-9A-Za-z\-._]+$`)
	hostnamePortSfx = regexp.MustCompile(`:(\d+)$`)
)

// normalizeIP ports Kong's normalize_ip: an IPv4 address, an IPv6 address
// (bracketed when it carries a port) or a host name, each with an optional
// port. ok is false for anything else.
func normalizeIP(s string) (ipAddr, bool) {
	colons := strings.Count(s, ":")
	switch {
	case colons > 1:
		return normalizeIPv6(s)
	case strings.Trim(strings.ReplaceAll(s, ":", ""), "0123456789.") == "" && s != "":
		return normalizeIPv4(s)
	}
	return checkHostname(s)
}

func parsePort(p string) (int, bool) {
	if p == "" || len(p) > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(p)
	return n, err == nil && n <= 65535
}

func normalizeIPv4(s string) (ipAddr, bool) {
	m := ipv4Pattern.FindStringSubmatch(s)
	if m == nil || (strings.Contains(s, ":") && m[5] == "") {
		return ipAddr{}, false
	}
	parts := make([]string, 4)
	for i := 0; i < 4; i++ {
		n, _ := strconv.Atoi(m[i+1])
		if n > 255 {
			return ipAddr{}, false
		}
		parts[i] = strconv.Itoa(n)
	}
	a := ipAddr{kind: "ipv4", host: strings.Join(parts, "."), port: -1}
	if m[5] != "" {
		p, ok := parsePort(m[5])
		if !ok {
			return ipAddr{}, false
		}
		a.port = p
	}
	return a, true
}

func normalizeIPv6(s string) (ipAddr, bool) {
	check, port := s, -1
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return ipAddr{}, false // "[::1": unbalanced bracket
		}
		check = s[1:end]
		if rest := s[end+1:]; rest != "" {
			p, ok := parsePort(strings.TrimPrefix(rest, ":"))
			if !strings.HasPrefix(rest, ":") || !ok {
				return ipAddr{}, false
			}
			port = p
		}
	}
	if strings.HasPrefix(check, ":") {
		check = "0" + check
	}
	if strings.HasSuffix(check, ":") {
		check += "0"
	}
	if strings.Contains(check, "::") {
		n := strings.Count(check, ":")
		if n > 8 {
			return ipAddr{}, false
		}
		check = strings.Replace(check, "::", ":"+strings.Repeat("0:", 8-n), 1)
	}
	groups := strings.Split(check, ":")
	if len(groups) != 8 {
		return ipAddr{}, false
	}
	for i, g := range groups {
		if !ipv6Group.MatchString(g) {
			return ipAddr{}, false
		}
		groups[i] = strings.ToLower(strings.Repeat("0", 4-len(g)) + g)
	}
	return ipAddr{kind: "ipv6", host: strings.Join(groups, ":"), port: port}, true
}

func checkHostname(s string) (ipAddr, bool) {
	name, port := s, -1
	if m := hostnamePortSfx.FindStringSubmatch(s); m != nil {
		p, ok := parsePort(m[1])
		if !ok {
			return ipAddr{}, false
		}
		name, port = s[:len(s)-len(m[0])], p
	}
	if !hostnameChars.MatchString(name) {
		return ipAddr{}, false
	}
	segs := strings.Split(name, ".")
	for i, seg := range segs {
		if strings.HasSuffix(seg, "-") || (seg == "" && i != len(segs)-1) {
			return ipAddr{}, false
		}
	}
	return ipAddr{kind: "name", host: name, port: port}, true
}
