package proxycache

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// directive is one Cache-Control directive's value: a number when it
// looks like one (Lua's tonumber), its text, or present without a value.
type directive struct {
	num    float64
	isNum  bool
	text   string
	hasVal bool
}

var directiveRe = regexp.MustCompile(`^\s*([^=]+)(?:=(.+))?`)

// parseDirectives is Kong's parse_directive_header: comma-separated
// directives (several header values joined with ", "), names
// lower-cased.
func parseDirectives(values []string) map[string]directive {
	out := map[string]directive{}
	for _, part := range strings.Split(strings.Join(values, ", "), ",") {
		if part == "" {
			continue
		}
		m := directiveRe.FindStringSubmatch(part)
		if m == nil {
			continue
		}
		d := directive{}
		if m[2] != "" {
			d.hasVal, d.text = true, m[2]
			d.num, d.isNum = luaNumber(m[2])
		}
		out[strings.ToLower(m[1])] = d
	}
	return out
}

// luaNumber converts like Lua's tonumber (decimal, surrounding spaces).
func luaNumber(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	if t == "" || strings.ContainsAny(strings.ToLower(t), "in_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	return f, err == nil
}

// has reports a directive's presence (Lua truthiness of cc[name]).
func has(cc map[string]directive, name string) bool {
	_, ok := cc[name]
	return ok
}

// number returns a directive's numeric value; Kong compares a non-number
// value in arithmetic as an error, which these directives never carry
// in practice: a non-number counts as absent.
func number(cc map[string]directive, name string) (float64, bool) {
	d, ok := cc[name]
	if !ok || !d.isNum {
		return 0, false
	}
	return d.num, true
}

// resourceTTL is Kong's calculate_resource_ttl: s-maxage, else max-age,
// else Expires minus now; never below 0.
func resourceTTL(cc map[string]directive, expires []string, now time.Time) float64 {
	maxAge, ok := number(cc, "s-maxage")
	if !ok {
		maxAge, ok = number(cc, "max-age")
	}
	if !ok && len(expires) > 0 {
		if t, err := http.ParseTime(expires[len(expires)-1]); err == nil {
			maxAge, ok = float64(t.Unix()-now.Unix()), true
		}
	}
	if !ok {
		return 0
	}
	return math.Max(maxAge, 0)
}
