package botdetection_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	botdetection "github.com/gatehouse/gatehouse/runtime/plugins/bot-detection"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func newPlugin(t testing.TB, cfg map[string]any) *botdetection.Plugin {
	t.Helper()
	inst, err := botdetection.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*botdetection.Plugin)
}

func TestBuiltinList(t *testing.T) {
	p := newPlugin(t, map[string]any{})
	cases := map[string]bool{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36": false,
		"curl/8.5.0":                              false,
		"Pingdom.com_bot_version_1.4":             true,
		"Twitterbot/1.0":                          true,
		"aws-cli/2.15.0 Python/3.11":              true,
		"okhttp/4.12.0":                           true,
		"axios/1.6.0":                             true,
		"Mozilla/5.0 (compatible; YandexBot/3.0)": true,
		"Slackbot-LinkExpanding 1.0":              true,
		"Apache-HttpClient/4.5.13 (Java/17)":      true,
		"":                                        false,
	}
	for ua, bot := range cases {
		if got := p.Examine(ua); got != bot {
			t.Errorf("%q: bot %v, want %v", ua, got, bot)
		}
	}
}

func TestAccess(t *testing.T) {
	p := newPlugin(t, map[string]any{"deny": []any{"evil"}})
	env := plugintest.NewEnv()
	cases := []struct {
		req    *plugintest.Request
		status int
	}{
		{plugintest.NewRequest("GET", "/").WithHeader("User-Agent", "evil agent"), 403},
		{plugintest.NewRequest("GET", "/").WithHeader("User-Agent", "evil agent"), 403}, // cached
		{plugintest.NewRequest("GET", "/").WithHeader("User-Agent", "nice"), 0},
		{plugintest.NewRequest("GET", "/"), 0},
		{plugintest.NewRequest("GET", "/").WithHeader("User-Agent", "a").WithHeader("User-Agent", "b"), 400},
	}
	for i, c := range cases {
		res := env.Run(t, p, hostabi.PhaseAccess, c.req)
		got := 0
		if res.Exited {
			got = res.Status
		}
		if got != c.status {
			t.Errorf("case %d: exit %d, want %d", i, got, c.status)
		}
	}
}

func TestNewRejectsBadRegex(t *testing.T) {
	if _, err := botdetection.New(map[string]any{"allow": []any{"(x"}}); err == nil {
		t.Error("bad regex accepted")
	}
}

func FuzzExamine(f *testing.F) {
	for _, s := range []string{"Googlebot/2.1", "curl/8", " PTST/1.2", "x Spider 1.0", "\x00\xff"} {
		f.Add(s)
	}
	p := newPlugin(f, map[string]any{"allow": []any{"^ok"}, "deny": []any{"bad$"}})
	f.Fuzz(func(t *testing.T, ua string) {
		got := p.Examine(ua)
		if got && len(ua) >= 2 && ua[:2] == "ok" {
			t.Fatalf("%q refused though allowed", ua)
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	p := newPlugin(b, map[string]any{"deny": []any{"^evil"}})
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").
		WithHeader("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExamineUncached is the cost of one new User-Agent through the
// whole built-in list.
func BenchmarkExamineUncached(b *testing.B) {
	p := newPlugin(b, map[string]any{})
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	for b.Loop() {
		p.Examine(ua)
	}
}
