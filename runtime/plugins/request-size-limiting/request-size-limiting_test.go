package requestsizelimiting_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	requestsizelimiting "github.com/gatehouse/gatehouse/runtime/plugins/request-size-limiting"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestParseContentLength(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"10", 10, true}, {" 10 ", 10, true}, {"1e3", 1000, true}, {"0x10", 16, true}, {"1.5", 1.5, true},
		{"", 0, false}, {"abc", 0, false}, {"inf", 0, false}, {"nan", 0, false}, {"1_0", 0, false},
		{"99999999999999999999", 1e20, true}, {"+0x10", 0, false},
	}
	for _, c := range cases {
		got, ok := requestsizelimiting.ParseContentLength(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%q = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestAccessBuffered is the fallback for hosts without a BodyLimiter:
// the body read whole is measured, as Kong does.
func TestAccessBuffered(t *testing.T) {
	inst, err := requestsizelimiting.New(map[string]any{"allowed_payload_size": 10, "size_unit": "bytes", "require_content_length": false})
	if err != nil {
		t.Fatal(err)
	}
	env := plugintest.NewEnv()
	cases := []struct {
		req    *plugintest.Request
		status int
	}{
		{plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte(strings.Repeat("a", 10))), 0},
		{plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte(strings.Repeat("a", 11))), 413},
		{plugintest.NewRequest("POST", "/").WithHeader("Content-Length", "11"), 413},
		{plugintest.NewRequest("POST", "/").WithHeader("Content-Length", "11").WithHeader("Expect", " 100-Continue "), 417},
		{plugintest.NewRequest("POST", "/").WithHeader("Content-Length", "5").WithBody("text/plain", []byte(strings.Repeat("a", 50))), 0},
	}
	for i, c := range cases {
		res := env.Run(t, inst, hostabi.PhaseAccess, c.req)
		got := 0
		if res.Exited {
			got = res.Status
		}
		if got != c.status {
			t.Errorf("case %d: exit %d, want %d", i, got, c.status)
		}
	}
	req, err := requestsizelimiting.New(map[string]any{"require_content_length": true})
	if err != nil {
		t.Fatal(err)
	}
	res := env.Run(t, req, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/"))
	if !res.Exited || res.Status != 411 {
		t.Errorf("require_content_length: exited %v %d, want 411", res.Exited, res.Status)
	}
}

func FuzzParseContentLength(f *testing.F) {
	for _, s := range []string{"0", "10", " 1e3", "0x1F", "-5", "1..2", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := requestsizelimiting.ParseContentLength(s)
		if !ok {
			return
		}
		if math.IsNaN(n) {
			t.Fatalf("%q parsed as NaN", s)
		}
		if d, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil && float64(d) != n {
			t.Fatalf("%q = %v, want %d", s, n, d)
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	inst, err := requestsizelimiting.New(map[string]any{"allowed_payload_size": 1})
	if err != nil {
		b.Fatal(err)
	}
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("POST", "/").WithHeader("Content-Length", "4096"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}
