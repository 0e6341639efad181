package responseratelimiting_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testredis"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	responseratelimiting "github.com/gatehouse/gatehouse/runtime/plugins/response-ratelimiting"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func newPlugin(t testing.TB, cfg map[string]any, c *clock) *responseratelimiting.Plugin {
	t.Helper()
	// The node adds the plugin's scope to its configuration; route_id in
	// cfg stands for it.
	route, _ := cfg["route_id"].(string)
	delete(cfg, "route_id")
	inst, err := responseratelimiting.New(plugin.WithScope(plugintest.Config(t, responseratelimiting.Schema(), cfg), plugin.Scope{RouteID: route}))
	if err != nil {
		t.Fatal(err)
	}
	p := inst.(*responseratelimiting.Plugin)
	p.SetClock(c.now)
	t.Cleanup(func() { p.Close() })
	return p
}

// upstreamHeader is the header the test upstream sends its usage in.
var upstreamHeader = "X-Kong-Limit"

// outcome is one request through access, header_filter and log.
type outcome struct {
	status  int // 0: proxied
	message string
	headers map[string]string
}

// call runs a request whose upstream answers with header x-kong-limit:
// upstream (none when "").
func call(t testing.TB, env *plugintest.Env, p phases, pluginID, upstream string, names ...string) outcome {
	t.Helper()
	req := plugintest.NewRequest("GET", "/").WithClientIP("10.0.0.9")
	req.PluginID = pluginID
	if upstream != "" {
		req.ServiceHeader = map[string][]string{upstreamHeader: {upstream}}
	}
	k := env.NewKong(req)
	o := outcome{headers: map[string]string{}}
	read := func() {
		for _, n := range names {
			if v := k.Response().Header(n); v != "" {
				o.headers[n] = v
			}
		}
	}
	if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
		t.Fatal(err)
	}
	if res := k.Result(); res.Exited {
		o.status, o.message = res.Status, res.ExitMessage()
		return o
	}
	if err := plugintest.Call(k, p, hostabi.PhaseHeaderFilter); err != nil {
		t.Fatal(err)
	}
	read()
	if k.Response().Header(upstreamHeader) != "" {
		t.Errorf("the upstream's %s header reached the client", upstreamHeader)
	}
	if res := k.Result(); res.Exited {
		o.status = res.Status
	}
	if err := plugintest.Call(k, p, hostabi.PhaseLog); err != nil {
		t.Fatal(err)
	}
	return o
}

var hdrs = []string{"X-RateLimit-Remaining-videos", "X-RateLimit-Limit-videos-minute", "X-RateLimit-Remaining-videos-minute",
	"X-RateLimit-Limit-images-hour", "X-RateLimit-Remaining-images-hour", "X-RateLimit-Remaining-images"}

func TestIncrementsAndLimits(t *testing.T) {
	for _, policy := range []string{"local", "redis", "cluster"} {
		t.Run(policy, func(t *testing.T) {
			c := &clock{}
			c.advance(time.Duration(time.Date(2024, 5, 1, 10, 0, 10, 0, time.UTC).UnixNano()))
			cfg := map[string]any{"limits": map[string]any{
				"videos": map[string]any{"minute": 3},
				"images": map[string]any{"hour": 10},
			}}
			id := plugintest.DefaultPluginID
			if policy == "redis" {
				addRedis(t, cfg)
				// Kong's keys name the plugin's route: a fresh one keeps
				// reruns apart.
				id = fmt.Sprintf("p-%d", time.Now().UnixNano())
				cfg["route_id"] = id
			}
			if policy == "cluster" {
				cfg["policy"] = "cluster"
			}
			var p phases = newPlugin(t, cfg, c)
			if policy == "cluster" {
				p = plugintest.OnStore{Plugin: p, Store: sqliteStore(t)}
			}
			env := plugintest.NewEnv()
			steps := []struct {
				upstream string
				want     outcome
			}{
				{"videos=2, images=1", outcome{headers: map[string]string{
					"X-RateLimit-Remaining-videos": "3", "X-RateLimit-Limit-videos-minute": "3", "X-RateLimit-Remaining-videos-minute": "1",
					"X-RateLimit-Limit-images-hour": "10", "X-RateLimit-Remaining-images-hour": "9", "X-RateLimit-Remaining-images": "10"}}},
				// Unknown names and malformed pairs are ignored.
				{"videos=1,unknown=5,images", outcome{headers: map[string]string{
					"X-RateLimit-Remaining-videos": "1", "X-RateLimit-Limit-videos-minute": "3", "X-RateLimit-Remaining-videos-minute": "0",
					"X-RateLimit-Limit-images-hour": "10", "X-RateLimit-Remaining-images-hour": "9", "X-RateLimit-Remaining-images": "9"}}},
				// videos is used up: a response using it is refused, without a body.
				{"videos=1", outcome{status: 429, headers: map[string]string{
					"X-RateLimit-Remaining-videos": "0", "X-RateLimit-Limit-videos-minute": "3", "X-RateLimit-Remaining-videos-minute": "0",
					"X-RateLimit-Limit-images-hour": "10", "X-RateLimit-Remaining-images-hour": "9", "X-RateLimit-Remaining-images": "9"}}},
				// A response not using it passes.
				{"images=4", outcome{headers: map[string]string{
					"X-RateLimit-Remaining-videos": "0", "X-RateLimit-Limit-videos-minute": "3", "X-RateLimit-Remaining-videos-minute": "0",
					"X-RateLimit-Limit-images-hour": "10", "X-RateLimit-Remaining-images-hour": "5", "X-RateLimit-Remaining-images": "9"}}},
			}
			for i, s := range steps {
				got := call(t, env, p, id, s.upstream, hdrs...)
				if !reflect.DeepEqual(got, s.want) {
					t.Errorf("step %d (%s):\n got %+v\nwant %+v", i+1, s.upstream, got, s.want)
				}
			}
			// The next minute resets videos.
			c.advance(time.Minute)
			if got := call(t, env, p, id, "videos=1", hdrs...); got.status != 0 || got.headers["X-RateLimit-Remaining-videos"] != "3" {
				t.Errorf("next minute: %+v", got)
			}
		})
	}
}

// phases is a plugin's access, header_filter and log.
type phases interface {
	hostabi.Accessor
	hostabi.HeaderFilterer
	hostabi.LogPhaser
}

func sqliteStore(t testing.TB) *store.Store {
	b, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return store.New(b, store.Options{})
}

func addRedis(t testing.TB, cfg map[string]any) {
	h, pn := testredis.Addr(t)
	cfg["policy"] = "redis"
	cfg["redis"] = map[string]any{"host": h, "port": pn, "database": 6}
}

func TestOptions(t *testing.T) {
	c := &clock{}
	c.advance(time.Duration(time.Date(2024, 5, 1, 10, 0, 10, 0, time.UTC).UnixNano()))
	limits := map[string]any{"videos": map[string]any{"minute": 1}}
	t.Run("block_on_first_violation", func(t *testing.T) {
		p := newPlugin(t, map[string]any{"limits": limits, "block_on_first_violation": true}, c)
		env := plugintest.NewEnv()
		call(t, env, p, "", "videos=1")
		got := call(t, env, p, "", "")
		if got.status != 429 || got.message != "API rate limit exceeded for 'videos'" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("hide_client_headers", func(t *testing.T) {
		p := newPlugin(t, map[string]any{"limits": limits, "hide_client_headers": true}, c)
		got := call(t, plugintest.NewEnv(), p, "", "videos=1", hdrs...)
		// Kong hides the per-period headers; access's remaining stays.
		if want := map[string]string{"X-RateLimit-Remaining-videos": "1"}; !reflect.DeepEqual(got.headers, want) {
			t.Errorf("headers %v, want %v", got.headers, want)
		}
	})
	t.Run("header_name", func(t *testing.T) {
		p := newPlugin(t, map[string]any{"limits": limits, "header_name": "x-usage"}, c)
		env := plugintest.NewEnv()
		upstreamHeader = "X-Usage"
		defer func() { upstreamHeader = "X-Kong-Limit" }()
		call(t, env, p, "", "videos=1")
		if got := call(t, env, p, "", "", hdrs...); got.headers["X-RateLimit-Remaining-videos"] != "0" {
			t.Errorf("x-usage not counted: %+v", got)
		}
	})
	t.Run("limit_by credential", func(t *testing.T) {
		p := newPlugin(t, map[string]any{"limits": limits, "limit_by": "credential"}, c)
		env := plugintest.NewEnv()
		call(t, env, p, "", "videos=1")
		if got := call(t, env, p, "", "videos=1"); got.status != 429 {
			t.Errorf("same IP (no credential) not limited: %+v", got)
		}
	})
	t.Run("fault_tolerant", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		for _, tolerant := range []bool{true, false} {
			p := newPlugin(t, map[string]any{"limits": limits, "fault_tolerant": tolerant, "policy": "redis",
				"redis": map[string]any{"host": "127.0.0.1", "port": port, "timeout": 100}}, c)
			res := plugintest.Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/"))
			if (res.Err != nil) == tolerant || res.Exited || res.RespHeader("X-RateLimit-Remaining-videos") != "" {
				t.Errorf("fault_tolerant=%v: err %v exited %v", tolerant, res.Err, res.Exited)
			}
		}
	})
}

func TestSchema(t *testing.T) {
	cfg := plugintest.Config(t, responseratelimiting.Schema(), map[string]any{"limits": map[string]any{"v": map[string]any{"minute": 5}}})
	want := map[string]any{
		"header_name": "x-kong-limit", "limit_by": "consumer", "policy": "local", "fault_tolerant": true,
		"redis": map[string]any{"host": nil, "port": nil, "timeout": int64(2000), "username": nil, "password": nil,
			"database": int64(0), "ssl": false, "ssl_verify": false, "server_name": nil},
		"block_on_first_violation": false, "hide_client_headers": false,
		"limits": map[string]any{"v": map[string]any{"minute": 5.0}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults = %v\nwant %v", cfg, want)
	}
	for _, b := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{}, "limits: required field missing"},
		{map[string]any{"limits": map[string]any{"v": map[string]any{"second": 10, "minute": 5}}}, "the limit for minute(5.0) cannot be lower than the limit for second(10.0)"},
		{map[string]any{"limits": map[string]any{"v": map[string]any{"minute": 5}}, "policy": "redis"}, "failed conditional validation given value of field 'config.policy'"},
		{map[string]any{"limits": map[string]any{"v": map[string]any{"minute": 5}}, "limit_by": "path"}, "limit_by: expected one of: consumer, credential, ip"},
	} {
		_, errs := plugintest.ValidateConfig(responseratelimiting.Schema(), b.cfg)
		if got := errs.Flatten(); !slices.ContainsFunc(got, func(s string) bool { return contains(s, b.want) }) {
			t.Errorf("%v: errors %q\nwant %q", b.cfg, got, b.want)
		}
	}
	cat, _ := plugin.NewCatalog([]string{"response-ratelimiting"})
	if d, _ := cat.Get("response-ratelimiting"); d == nil || d.Priority != 900 || d.Version != plugin.BundledVersion {
		t.Errorf("definition %+v", d)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func BenchmarkAccess(b *testing.B) {
	c := &clock{}
	c.advance(time.Duration(time.Now().UnixNano()))
	run := func(b *testing.B, cfg map[string]any) {
		p := newPlugin(b, cfg, c)
		k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithClientIP("10.0.0.1"))
		b.ReportAllocs()
		for b.Loop() {
			k.Reset()
			if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
				b.Fatal(err)
			}
		}
	}
	limits := map[string]any{"videos": map[string]any{"minute": 1e12, "hour": 1e12}}
	b.Run("local", func(b *testing.B) { run(b, map[string]any{"limits": limits}) })
	b.Run("redis", func(b *testing.B) {
		cfg := map[string]any{"limits": limits}
		addRedis(b, cfg)
		run(b, cfg)
	})
}
