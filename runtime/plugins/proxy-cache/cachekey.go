package proxycache

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/runtime/ngxargs"
)

// argValue is one argument as Kong's tables hold it: a flag (Lua true),
// one value, or several.
type argValue struct {
	flag   bool
	values []string
}

// queryArgs reads a raw query string as kong.request.get_query does.
func queryArgs(raw string) map[string]*argValue {
	out := map[string]*argValue{}
	for _, a := range ngxargs.Parse(raw) {
		cur := out[a.Key]
		if cur == nil {
			cur = &argValue{}
			out[a.Key] = cur
		}
		if a.Flag {
			if len(cur.values) == 0 {
				cur.flag = true
				continue
			}
			a.Value = "true" // a flag among values: Lua's tostring(true)
		}
		if cur.flag {
			cur.flag, cur.values = false, []string{"true"}
		}
		cur.values = append(cur.values, a.Value)
	}
	return out
}

// generateKeyFrom is Kong's generate_key_from: "field=value" (several
// values sorted and joined with ","; a flag as the bare field) for each
// field present in args, joined with ":".
func generateKeyFrom(get func(string) *argValue, fields []string) string {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		a := get(f)
		switch {
		case a == nil:
		case a.flag:
			parts = append(parts, f)
		case len(a.values) == 1:
			parts = append(parts, f+"="+a.values[0])
		default:
			vs := append([]string(nil), a.values...)
			sort.Strings(vs)
			parts = append(parts, f+"="+strings.Join(vs, ","))
		}
	}
	return strings.Join(parts, ":")
}

// paramsKey is Kong's params_key: the configured vary_query_params, or
// every argument sorted by name when none is configured.
func paramsKey(args map[string]*argValue, vary []string) string {
	get := func(k string) *argValue { return args[k] }
	if len(vary) == 0 {
		keys := make([]string, 0, len(args))
		for k := range args {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return generateKeyFrom(get, keys)
	}
	return generateKeyFrom(get, vary)
}

// headersKey is Kong's headers_key: the configured vary_headers, looked
// up case-insensitively; "" when none is configured.
func headersKey(header func(name string) []string, vary []string) string {
	if len(vary) == 0 {
		return ""
	}
	return generateKeyFrom(func(name string) *argValue {
		if vs := header(name); len(vs) > 0 {
			return &argValue{values: vs}
		}
		return nil
	}, vary)
}

// prefix is Kong's prefix_uuid.
func prefix(consumerID, routeID string) string {
	switch {
	case consumerID != "" && routeID != "":
		return consumerID + ":" + routeID
	case routeID != "":
		return routeID
	}
	return "default"
}

// BuildKey is Kong's build_cache_key: the SHA-256, in hex, of
// "prefix|method|uri|params|headers".
func BuildKey(consumerID, routeID, method, uri, params, headers string) string {
	sum := sha256.Sum256([]byte(prefix(consumerID, routeID) + "|" + method + "|" + uri + "|" + params + "|" + headers))
	return hex.EncodeToString(sum[:])
}
