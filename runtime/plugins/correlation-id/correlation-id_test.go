package correlationid_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	correlationid "github.com/gatehouse/gatehouse/runtime/plugins/correlation-id"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

var (
	uuidRe    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	counterRe = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})#([0-9]+)$`)
	trackerRe = regexp.MustCompile(`^10\.0\.0\.1-8443-[0-9]+-17-3-[0-9]+\.[0-9]{3}$`)
)

func TestGenerators(t *testing.T) {
	for _, c := range []struct {
		generator string
		re        *regexp.Regexp
	}{{"uuid", uuidRe}, {"uuid#counter", counterRe}, {"tracker", trackerRe}} {
		t.Run(c.generator, func(t *testing.T) {
			p := plugintest.New(t, correlationid.Schema(), correlationid.New, map[string]any{"generator": c.generator})
			req := plugintest.NewRequest("GET", "/")
			req.Vars = map[string]string{"server_addr": "10.0.0.1", "server_port": "8443", "connection": "17", "connection_requests": "3"}
			res := plugintest.Run(t, p, hostabi.PhaseAccess, req)
			id := res.Header["kong-request-id"]
			if res.Err != nil || len(id) != 1 || !c.re.MatchString(id[0]) {
				t.Fatalf("generated %q (%v)", id, res.Err)
			}
			if c.generator == "uuid#counter" {
				next := plugintest.Run(t, p, hostabi.PhaseAccess, req).Header["kong-request-id"][0]
				a, b := counterRe.FindStringSubmatch(id[0]), counterRe.FindStringSubmatch(next)
				if a[1] != b[1] || a[2] == b[2] {
					t.Errorf("two requests got %s and %s: same uuid, next counter expected", id[0], next)
				}
			}
		})
	}
}

func TestClientIDKeptAndEchoed(t *testing.T) {
	cases := []struct {
		name       string
		cfg        map[string]any
		clientID   string
		wantUp     string // "" means a generated one
		wantEcho   bool
		wantHeader string
	}{
		{"client id kept", map[string]any{}, "abc", "abc", false, "Kong-Request-ID"},
		{"generated when empty", map[string]any{}, "", "", false, "Kong-Request-ID"},
		{"custom header, echoed", map[string]any{"header_name": "X-Trace", "echo_downstream": true}, "t-1", "t-1", true, "X-Trace"},
		{"generated and echoed", map[string]any{"echo_downstream": true, "generator": "uuid"}, "", "", true, "Kong-Request-ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := plugintest.New(t, correlationid.Schema(), correlationid.New, c.cfg)
			req := plugintest.NewRequest("GET", "/")
			if c.clientID != "" {
				req.WithHeader(c.wantHeader, c.clientID)
			}
			env := plugintest.NewEnv()
			k := env.NewKong(req)
			if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
				t.Fatal(err)
			}
			if err := plugintest.Call(k, p, hostabi.PhaseHeaderFilter); err != nil {
				t.Fatal(err)
			}
			res := k.Result()
			up := res.Header[strings.ToLower(c.wantHeader)]
			if len(up) != 1 || (c.wantUp != "" && up[0] != c.wantUp) {
				t.Fatalf("upstream %s = %q, want %q", c.wantHeader, up, c.wantUp)
			}
			setUpstream := false
			for _, op := range res.HeaderOps {
				setUpstream = setUpstream || strings.EqualFold(op.Name, c.wantHeader)
			}
			if setUpstream != (c.clientID == "") {
				t.Errorf("upstream header set: %v, client sent %q", setUpstream, c.clientID)
			}
			echo := res.ResponseHeader[strings.ToLower(c.wantHeader)]
			if c.wantEcho != (len(echo) == 1) || (c.wantEcho && echo[0] != up[0]) {
				t.Errorf("echoed %q, upstream got %q (echo wanted: %v)", echo, up, c.wantEcho)
			}
			if got := serialized(res); got != up[0] {
				t.Errorf("log record correlation_id = %q, want %q", got, up[0])
			}
		})
	}
}

// serialized returns the correlation_id the plugin put in the log record.
func serialized(res *plugintest.Result) string {
	for _, v := range res.SerializeValues {
		if v.Key == "correlation_id" {
			s, _ := v.Value.(string)
			return s
		}
	}
	return ""
}

// TestEchoWithoutAccess: a request that ended before the access phase
// (another plugin's exit) still gets an id back.
func TestEchoWithoutAccess(t *testing.T) {
	p := plugintest.New(t, correlationid.Schema(), correlationid.New, map[string]any{"echo_downstream": true})
	res := plugintest.Run(t, p, hostabi.PhaseHeaderFilter, plugintest.NewRequest("GET", "/"))
	if id := res.ResponseHeader["kong-request-id"]; len(id) != 1 || !counterRe.MatchString(id[0]) {
		t.Fatalf("echoed %q", id)
	}
}

func TestSchema(t *testing.T) {
	cfg := plugintest.Config(t, correlationid.Schema(), nil)
	if cfg["header_name"] != "Kong-Request-ID" || cfg["generator"] != "uuid#counter" || cfg["echo_downstream"] != false {
		t.Fatalf("defaults: %v", cfg)
	}
	if _, errs := plugintest.ValidateConfig(correlationid.Schema(), map[string]any{"generator": "random"}); errs.Empty() {
		t.Fatal("generator random accepted")
	}
}

func BenchmarkAccess(b *testing.B) {
	for _, gen := range []string{"uuid", "uuid#counter", "tracker"} {
		b.Run(gen, func(b *testing.B) {
			p := plugintest.New(b, correlationid.Schema(), correlationid.New, map[string]any{"generator": gen})
			env := plugintest.NewEnv()
			req := plugintest.NewRequest("GET", "/")
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := plugintest.Call(env.NewKong(req), p, hostabi.PhaseAccess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
