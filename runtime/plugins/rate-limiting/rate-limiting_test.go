package ratelimiting_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	ratelimiting "github.com/gatehouse/gatehouse/runtime/plugins/rate-limiting"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// clock is a settable time source.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.t.Store(t.UnixNano())
	return c
}
func (c *clock) now() time.Time                    { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) advance(d time.Duration)           { c.t.Add(int64(d)) }
func (c *clock) set(t time.Time)                   { c.t.Store(t.UnixNano()) }
func (c *clock) unix() int64                       { return c.now().Unix() }
func at(s string) time.Time                        { t, _ := time.Parse(time.RFC3339, s); return t }
func itoa(n int64) string                          { return strconv.FormatInt(n, 10) }
func header(r *plugintest.Result, n string) string { return r.RespHeader(n) }

func newPlugin(t testing.TB, cfg map[string]any, c *clock) *ratelimiting.Plugin {
	t.Helper()
	// The node adds the plugin's scope to its configuration (Kong's
	// plugins iterator); route_id in cfg stands for it.
	route, _ := cfg["route_id"].(string)
	delete(cfg, "route_id")
	inst, err := ratelimiting.New(plugin.WithScope(plugintest.Config(t, ratelimiting.Schema(), cfg), plugin.Scope{RouteID: route}))
	if err != nil {
		t.Fatal(err)
	}
	p := inst.(*ratelimiting.Plugin)
	p.SetClock(c.now)
	t.Cleanup(func() { p.Close() })
	return p
}

func get() *plugintest.Request { return plugintest.NewRequest("GET", "/").WithClientIP("10.0.0.1") }

func TestMinuteLimit(t *testing.T) {
	c := newClock(at("2024-05-01T10:00:15Z"))
	p := newPlugin(t, map[string]any{"minute": 3}, c)
	env := plugintest.NewEnv()
	for i := 1; i <= 3; i++ {
		res := env.Run(t, p, hostabi.PhaseAccess, get())
		if res.Exited {
			t.Fatalf("request %d rejected", i)
		}
		want := map[string]string{
			"X-RateLimit-Limit-Minute": "3", "X-RateLimit-Remaining-Minute": itoa(int64(3 - i)),
			"RateLimit-Limit": "3", "RateLimit-Remaining": itoa(int64(3 - i)), "RateLimit-Reset": "45",
		}
		for n, v := range want {
			if got := header(res, n); got != v {
				t.Errorf("request %d: %s = %q, want %q", i, n, got, v)
			}
		}
		if res.RespHeader("Retry-After") != "" {
			t.Error("Retry-After on an accepted request")
		}
	}
	c.advance(5 * time.Second)
	res := env.Run(t, p, hostabi.PhaseAccess, get())
	if !res.Exited || res.Status != 429 || string(res.ExitBody) != `{"message":"API rate limit exceeded"}` {
		t.Fatalf("4th request: exited %v %d %s", res.Exited, res.Status, res.ExitBody)
	}
	want := map[string]string{
		"X-RateLimit-Limit-Minute": "3", "X-RateLimit-Remaining-Minute": "0",
		"RateLimit-Limit": "3", "RateLimit-Remaining": "0", "RateLimit-Reset": "40", "Retry-After": "40",
	}
	if !reflect.DeepEqual(withoutContentType(res.ExitHeaders), want) {
		t.Errorf("exit headers = %v\nwant %v", res.ExitHeaders, want)
	}
	// The next minute starts on the UTC boundary.
	c.set(at("2024-05-01T10:01:00Z"))
	if res := env.Run(t, p, hostabi.PhaseAccess, get()); res.Exited || header(res, "RateLimit-Reset") != "60" {
		t.Errorf("next window: exited %v reset %q", res.Exited, header(res, "RateLimit-Reset"))
	}
}

func withoutContentType(h map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		if k != "Content-Type" {
			out[k] = v
		}
	}
	return out
}

func TestSeveralLimits(t *testing.T) {
	c := newClock(at("2024-05-01T10:00:30Z"))
	p := newPlugin(t, map[string]any{"second": 2, "minute": 3, "hour": 100}, c)
	env := plugintest.NewEnv()
	// Two requests in the second; the second one leaves second=0, minute=1.
	env.Run(t, p, hostabi.PhaseAccess, get())
	res := env.Run(t, p, hostabi.PhaseAccess, get())
	check := func(res *plugintest.Result, want map[string]string) {
		t.Helper()
		for n, v := range want {
			if got := res.RespHeader(n); got != v {
				t.Errorf("%s = %q, want %q", n, got, v)
			}
		}
	}
	check(res, map[string]string{
		"X-RateLimit-Remaining-Second": "0", "X-RateLimit-Remaining-Minute": "1", "X-RateLimit-Remaining-Hour": "98",
		"X-RateLimit-Limit-Hour": "100", "RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "1",
	})
	// Third in the same second: rejected by the second window; only the
	// stopping window's remaining is decremented.
	res = env.Run(t, p, hostabi.PhaseAccess, get())
	if !res.Exited {
		t.Fatal("not rejected")
	}
	check(res, map[string]string{
		"X-RateLimit-Remaining-Second": "0", "X-RateLimit-Remaining-Minute": "1", "X-RateLimit-Remaining-Hour": "98",
		"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "1", "Retry-After": "1",
	})
	// Next second: one more fits the minute, then the minute is exhausted.
	c.advance(time.Second)
	res = env.Run(t, p, hostabi.PhaseAccess, get())
	if res.Exited {
		t.Fatal("rejected")
	}
	// Equal remaining (0): the longer window is reported.
	check(res, map[string]string{"X-RateLimit-Remaining-Second": "1", "RateLimit-Limit": "3", "RateLimit-Remaining": "0", "RateLimit-Reset": "29"})
	c.advance(time.Second)
	res = env.Run(t, p, hostabi.PhaseAccess, get())
	if !res.Exited || res.ExitHeaders["Retry-After"] != "28" || res.ExitHeaders["X-RateLimit-Remaining-Second"] != "2" {
		t.Errorf("minute exhausted: %v %v", res.Exited, res.ExitHeaders)
	}
}

func TestCalendarWindows(t *testing.T) {
	c := newClock(at("2024-02-29T23:59:30Z"))
	p := newPlugin(t, map[string]any{"month": 2, "year": 5}, c)
	env := plugintest.NewEnv()
	res := env.Run(t, p, hostabi.PhaseAccess, get())
	elapsed := c.unix() - at("2024-02-01T00:00:00Z").Unix()
	if got, want := res.RespHeader("RateLimit-Reset"), itoa(2592000-elapsed); got != want || res.RespHeader("RateLimit-Limit") != "2" {
		t.Errorf("reset %s, want %s (month window as Kong: 30 days); limit %s", got, want, res.RespHeader("RateLimit-Limit"))
	}
	env.Run(t, p, hostabi.PhaseAccess, get())
	if res := env.Run(t, p, hostabi.PhaseAccess, get()); !res.Exited || res.ExitHeaders["Retry-After"] != itoa(2592000-elapsed) {
		t.Errorf("month exhausted: %v %v", res.Exited, res.ExitHeaders)
	}
	c.set(at("2024-03-01T00:00:00Z"))
	res = env.Run(t, p, hostabi.PhaseAccess, get())
	if res.Exited || res.RespHeader("X-RateLimit-Remaining-Month") != "1" || res.RespHeader("X-RateLimit-Remaining-Year") != "2" {
		t.Errorf("new month: %v %v", res.Exited, res.ResponseHeader)
	}
	// Late in a 31-day month the 30-day arithmetic goes past the window:
	// Kong reports max(1, ...) = 1.
	c.set(at("2024-03-31T23:59:30Z"))
	env.Run(t, p, hostabi.PhaseAccess, get())
	if res := env.Run(t, p, hostabi.PhaseAccess, get()); !res.Exited || res.ExitHeaders["Retry-After"] != "1" {
		t.Errorf("end of March: %v %v", res.Exited, res.ExitHeaders)
	}
}

func TestLimitBy(t *testing.T) {
	alice := hostabi.Entity{"id": "alice-id"}
	bob := hostabi.Entity{"id": "bob-id"}
	cred := hostabi.Entity{"id": "cred-id"}
	cases := []struct {
		name string
		cfg  map[string]any
		a, b *plugintest.Request // counted separately
		same *plugintest.Request // counted with a
	}{
		{"consumer", nil, get().WithIdentity(alice, nil), get().WithIdentity(bob, nil), plugintest.NewRequest("GET", "/").WithClientIP("10.9.9.9").WithIdentity(alice, nil)},
		{"consumer falls back to credential", nil, get().WithIdentity(nil, cred), get(), plugintest.NewRequest("GET", "/").WithClientIP("10.9.9.9").WithIdentity(nil, cred)},
		{"consumer falls back to ip", nil, get(), get().WithClientIP("10.0.0.2"), get()},
		{"credential", map[string]any{"limit_by": "credential"}, get().WithIdentity(alice, cred), get().WithIdentity(alice, nil), plugintest.NewRequest("GET", "/").WithIdentity(bob, cred)},
		{"ip", map[string]any{"limit_by": "ip"}, get().WithIdentity(alice, nil), get().WithClientIP("10.0.0.2").WithIdentity(alice, nil), get().WithIdentity(bob, nil)},
		{"service", map[string]any{"limit_by": "service"}, get().WithService(hostabi.Entity{"id": "s1"}), get().WithService(hostabi.Entity{"id": "s2"}),
			get().WithClientIP("10.0.0.3").WithService(hostabi.Entity{"id": "s1"})},
		{"header", map[string]any{"limit_by": "header", "header_name": "X-Tenant"}, get().WithHeader("x-tenant", "t1"), get().WithHeader("X-Tenant", "t2"),
			get().WithClientIP("10.0.0.3").WithHeader("X-TENANT", "t1")},
		{"header falls back to ip", map[string]any{"limit_by": "header", "header_name": "X-Tenant"}, get(), get().WithClientIP("10.0.0.2"), get()},
		{"path", map[string]any{"limit_by": "path", "path": "/limited"}, plugintest.NewRequest("GET", "/limited").WithClientIP("1.1.1.1"),
			plugintest.NewRequest("GET", "/other").WithClientIP("1.1.1.1"), plugintest.NewRequest("GET", "/limited").WithClientIP("2.2.2.2")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{"minute": 1}
			for k, v := range tc.cfg {
				cfg[k] = v
			}
			p := newPlugin(t, cfg, newClock(at("2024-05-01T10:00:00Z")))
			env := plugintest.NewEnv()
			if r := env.Run(t, p, hostabi.PhaseAccess, tc.a); r.Exited {
				t.Fatal("a rejected")
			}
			if r := env.Run(t, p, hostabi.PhaseAccess, tc.b); r.Exited {
				t.Fatal("b shares a's counter")
			}
			if r := env.Run(t, p, hostabi.PhaseAccess, tc.same); !r.Exited {
				t.Fatal("same identifier not limited")
			}
		})
	}
}

func TestOptions(t *testing.T) {
	c := newClock(at("2024-05-01T10:00:00Z"))
	env := plugintest.NewEnv()
	p := newPlugin(t, map[string]any{"second": 1, "hide_client_headers": true, "error_code": 503, "error_message": "slow down"}, c)
	res := env.Run(t, p, hostabi.PhaseAccess, get())
	if len(res.ResponseOps) != 0 {
		t.Errorf("headers not hidden: %v", res.ResponseOps)
	}
	res = env.Run(t, p, hostabi.PhaseAccess, get())
	if !res.Exited || res.Status != 503 || res.ExitMessage() != "slow down" {
		t.Errorf("exit %d %s", res.Status, res.ExitBody)
	}
	if got := withoutContentType(res.ExitHeaders); len(got) != 0 {
		t.Errorf("hidden headers sent on rejection (Kong sends no Retry-After then): %v", got)
	}
	bad := newPlugin(t, map[string]any{"second": 1, "error_code": 1000}, c)
	env.Run(t, bad, hostabi.PhaseAccess, get())
	if res := env.Run(t, bad, hostabi.PhaseAccess, get()); res.Err == nil || res.Exited {
		t.Errorf("error_code 1000: err %v", res.Err)
	}
}

func TestConcurrencyExact(t *testing.T) {
	const limit, workers, perWorker = 1000, 64, 50
	c := newClock(at("2024-05-01T10:00:00Z"))
	p := newPlugin(t, map[string]any{"minute": limit, "hour": limit * 10}, c)
	env := plugintest.NewEnv()
	passed, rejected := hammer(t, env, []hostabi.Accessor{p}, func() *plugintest.Request { return get() }, workers, perWorker)
	if passed != limit || rejected != workers*perWorker-limit {
		t.Errorf("passed %d rejected %d, want exactly %d passed", passed, rejected, limit)
	}
}

// hammer calls the access phase of nodes (worker w uses nodes[w % n])
// from workers goroutines, perWorker times each, with a request from req,
// and counts the requests that passed and those rejected.
func hammer(t *testing.T, env *plugintest.Env, nodes []hostabi.Accessor, req func() *plugintest.Request, workers, perWorker int) (passed, rejected int64) {
	t.Helper()
	var p, r atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := env.NewKong(req())
			for i := 0; i < perWorker; i++ {
				k.Reset()
				if err := plugintest.Call(k, nodes[w%len(nodes)], hostabi.PhaseAccess); err != nil {
					t.Error(err)
					return
				}
				if k.Response().Exited() {
					r.Add(1)
				} else {
					p.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return p.Load(), r.Load()
}

func TestExpiredWindowsAreDropped(t *testing.T) {
	c := newClock(at("2024-05-01T10:00:00Z"))
	p := newPlugin(t, map[string]any{"second": 5, "minute": 10}, c)
	env := plugintest.NewEnv()
	for i := 0; i < 500; i++ {
		env.Run(t, p, hostabi.PhaseAccess, get().WithClientIP(fmt.Sprintf("10.1.%d.%d", i/256, i%256)))
	}
	if n := p.Len(); n != 500 {
		t.Fatalf("tracking %d identifiers, want 500", n)
	}
	// Within the minute the entries stay; once it is over they go as the
	// shards are visited.
	c.advance(30 * time.Second)
	for i := 0; i < 2000; i++ {
		env.Run(t, p, hostabi.PhaseAccess, get().WithClientIP(fmt.Sprintf("10.2.0.%d", i%50)))
	}
	if n := p.Len(); n < 500 {
		t.Fatalf("live entries dropped: %d", n)
	}
	c.advance(60 * time.Second)
	for i := 0; i < 2000; i++ {
		env.Run(t, p, hostabi.PhaseAccess, get().WithClientIP(fmt.Sprintf("10.3.0.%d", i%50)))
	}
	if n := p.Len(); n > 100 {
		t.Errorf("expired entries kept: %d", n)
	}
	p.Close()
	if n := p.Len(); n != 0 {
		t.Errorf("Close kept %d entries", n)
	}
}

func TestSchema(t *testing.T) {
	cfg := plugintest.Config(t, ratelimiting.Schema(), map[string]any{"minute": 5})
	want := map[string]any{
		"second": nil, "minute": 5.0, "hour": nil, "day": nil, "month": nil, "year": nil,
		"limit_by": "consumer", "header_name": nil, "path": nil, "policy": "local", "fault_tolerant": true,
		"redis": map[string]any{"host": nil, "port": nil, "timeout": int64(2000), "username": nil, "password": nil,
			"database": int64(0), "ssl": false, "ssl_verify": false, "server_name": nil},
		"hide_client_headers": false, "error_code": 429.0, "error_message": "API rate limit exceeded", "sync_rate": -1.0,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults = %v\nwant %v", cfg, want)
	}
	bad := []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{}, "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"},
		{map[string]any{"second": 10, "minute": 5}, "The limit for minute(5.0) cannot be lower than the limit for second(10.0)"},
		{map[string]any{"minute": 5, "sync_rate": 1}, "sync_rate can only be used with the redis policy"},
		{map[string]any{"minute": 5, "policy": "cluster", "sync_rate": 0.01}, "sync_rate must be greater than 0.02, or -1 to disable"},
		{map[string]any{"minute": 5, "policy": "redis", "redis": map[string]any{"host": "h", "port": 1}, "sync_rate": 0.01}, "sync_rate must be greater than 0.02, or -1 to disable"},
		{map[string]any{"minute": 5, "policy": "redis"}, "failed conditional validation given value of field 'config.policy'"},
		{map[string]any{"minute": 5, "limit_by": "header"}, "failed conditional validation given value of field 'config.limit_by'"},
		{map[string]any{"minute": 5, "limit_by": "path"}, "failed conditional validation given value of field 'config.limit_by'"},
		{map[string]any{"minute": 0}, "minute: value must be greater than 0"},
		{map[string]any{"minute": 5, "limit_by": "route"}, "limit_by: expected one of: consumer, credential, ip, service, header, path"},
		{map[string]any{"minute": 5, "policy": "memory"}, "policy: expected one of: local, cluster, redis"},
		{map[string]any{"minute": 5, "header_name": "x y"}, "header_name: bad header name 'x y', allowed characters are A-Z, a-z, 0-9, '_', and '-'"},
		{map[string]any{"minute": 5, "path": "a"}, "path: should start with: /"},
		{map[string]any{"minute": 5, "redis": map[string]any{"host": "h"}}, "redis: all or none of these fields must be set: 'host', 'port'"},
		{map[string]any{"minute": 5, "error_code": 0}, "error_code: value must be greater than 0"},
	}
	for _, b := range bad {
		_, errs := plugintest.ValidateConfig(ratelimiting.Schema(), b.cfg)
		if got := errs.Flatten(); !slices.Contains(got, b.want) {
			t.Errorf("%v: errors %q\nwant %q", b.cfg, got, b.want)
		}
	}
	if !slices.Contains(plugin.Bundled(), "rate-limiting") {
		t.Error("not registered")
	}
	cat, _ := plugin.NewCatalog([]string{"rate-limiting"})
	if d, _ := cat.Get("rate-limiting"); d.Priority != 910 {
		t.Errorf("priority %d", d.Priority)
	}
	if _, err := ratelimiting.New(map[string]any{"minute": "5"}); err == nil {
		t.Error("bad config accepted")
	}
	if _, err := ratelimiting.New(map[string]any{}); err == nil {
		t.Error("config without limits accepted")
	}
}

func BenchmarkAccess(b *testing.B) {
	inst, err := ratelimiting.New(map[string]any{"minute": 1e12, "hour": 1e12})
	if err != nil {
		b.Fatal(err)
	}
	p := inst.(*ratelimiting.Plugin)
	defer p.Close()
	k := plugintest.NewEnv().NewKong(get())
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
}
