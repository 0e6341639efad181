package sdk_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/internal/tour"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/sdk/plugintest/load"
)

// fakeHTTP answers outbound requests and records them.
type fakeHTTP struct {
	mu   sync.Mutex
	urls []string
}

func (f *fakeHTTP) Do(_ context.Context, req hostabi.HTTPRequest) (hostabi.HTTPResponse, error) {
	f.mu.Lock()
	f.urls = append(f.urls, req.Method+" "+req.URL+" "+strings.Join(req.Header["X-Out"], ",")+" "+string(req.Body))
	f.mu.Unlock()
	return hostabi.HTTPResponse{Status: 201, Header: map[string][]string{"x-echo": {"e"}}, Body: []byte("pong")}, nil
}

// tourRun is what one runtime's tour gave.
type tourRun struct {
	res    *plugintest.Result
	http   []string
	report map[string]string // JSON of each recorded part
}

func runTour(t *testing.T, pp hostabi.ProvidedPlugin) tourRun {
	t.Helper()
	inst := plugintest.NewProvided(t, pp, nil)
	env := plugintest.NewEnv()
	alice := env.AddConsumer(hostabi.Entity{"id": "00000000-0000-4000-8000-00000000a11c", "username": "alice", "custom_id": "c-alice"})
	env.AddCredential("keyauth_credentials", alice, hostabi.Entity{"id": "00000000-0000-4000-8000-00000000c4ed", "key": "secret"})
	fh := &fakeHTTP{}
	req := plugintest.NewRequest("POST", "/p/a?a=1&a=2&b=x").WithJSON(map[string]any{"k": "v", "n": 1}).
		WithHeader("X-One", "one").WithHeader("X-Multi", "m1")
	req.Header["X-Multi"] = append(req.Header["X-Multi"], "m2")
	req.TrustedIPs = []string{"10.0.0.0/8"}
	req.Upstreams = []string{"pool"}
	req.Route = hostabi.Entity{"id": "r-1", "name": "route"}
	req.Service = hostabi.Entity{"id": "s-1", "name": "service"}
	req.URICaptures = map[string]string{"0": "/p/a", "name": "a"}
	req.ServiceStatus = 200
	req.ServiceHeader = map[string][]string{"X-Upstream": {"u"}}
	req.ServiceBody = []byte("upstream body")
	req.HTTP = fh
	req.PluginName = "tour"
	k := env.NewKong(req)
	for _, ph := range []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter, hostabi.PhaseLog} {
		if err := plugintest.Call(k, inst, ph); err != nil {
			t.Fatalf("%s: %v", ph, err)
		}
	}
	res := k.Result()
	if len(res.Timers) != 1 {
		t.Fatalf("%d timers", len(res.Timers))
	}
	res.Timers[0].Run(time.Second, fh)
	run := tourRun{res: res, http: fh.urls, report: map[string]string{}}
	add := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		run.report[name] = string(b)
	}
	for key, v := range res.Shared {
		add("shared."+key, v)
	}
	var logs []any
	for _, l := range res.Logs {
		logs = append(logs, []any{l.Level, l.Msg, l.KV, l.Plugin})
	}
	add("logs", logs)
	add("upstream", []any{res.Method, res.Scheme, res.Path, res.RawQuery, res.Header, string(res.Body), res.Target, res.Upstream, res.Buffering})
	add("response", []any{res.Status, res.ResponseHeader, string(res.ResponseBody), res.Exited})
	add("identity", []any{res.Consumer, res.Credential, len(res.AuthCalls)})
	add("serialize", res.SerializeValues)
	add("http", fh.urls)
	return run
}

// tourWasm loads the tour compiled to Wasm, with a wasm_timeout of 5 s:
// its access phase makes some sixty host calls, which the race detector
// slows past the default 100 ms.
func tourWasm(t *testing.T) hostabi.ProvidedPlugin {
	t.Helper()
	pp, err := load.TryWasm(t, load.Build(t, "testdata/tour"), load.Options{WasmTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return pp
}

// TestTourSameNativeAndWasm runs the tour plugin natively and compiled to
// Wasm on the same request, through every phase, and expects the same
// observations: every PDK function crosses the Wasm boundary with its
// arguments and results intact.
func TestTourSameNativeAndWasm(t *testing.T) {
	native, err := tour.Plugin.Provide("tour")
	if err != nil {
		t.Fatal(err)
	}
	wasm := tourWasm(t)
	if wasm.Definition.Priority != 10 || wasm.Definition.Version != "0.1.0" || len(wasm.Definition.Phases) != 4 {
		t.Errorf("the Wasm definition: %+v", wasm.Definition)
	}
	n, w := runTour(t, native), runTour(t, wasm)
	for name, nv := range n.report {
		if wv := w.report[name]; wv != nv {
			t.Errorf("%s differs:\nnative %s\nwasm   %s", name, nv, wv)
		}
	}
	if len(w.report) != len(n.report) {
		t.Errorf("reports: native %d parts, wasm %d", len(n.report), len(w.report))
	}

	// What the tour saw is right, not only the same.
	var acc map[string]any
	json.Unmarshal([]byte(w.report["shared.access"]), &acc)
	for key, want := range map[string]string{
		"phase": `"access"`, "method": `"POST"`, "path": `"/p/a"`, "arg_a": `["1",true]`, "arg_missing": `["",false]`,
		"header": `"one"`, "header_missing": `""`, "values": `["m1","m2"]`, "values_missing": `true`,
		"raw_body": `"{\"k\":\"v\",\"n\":1}"`, "consumer_after": `"alice"`, "ctx_plugin": `[["x",1],true,false]`,
		"cache": `[{"n":1},true,false,false,"loaded",null,"loaded",1,"cannot load"]`, "trusted": `[true,false]`,
		"http": `[201,{"x-echo":["e"]},"pong",null]`, "load_nobody": `true`,
		"db":              `{"code":8,"message":"the test environment has no database (Env.UseStore)","name":"database error"}`,
		"set_upstream_ok": `null`, "exited": `false`,
	} {
		if got, _ := json.Marshal(acc[key]); string(got) != want {
			t.Errorf("access %s = %s, want %s", key, got, want)
		}
	}
	if s, _ := acc["set_upstream"].(string); !strings.Contains(s, "nope") {
		t.Errorf("set_upstream of an unknown upstream: %v", acc["set_upstream"])
	}
	if s, _ := acc["serialize_mode"].(string); !strings.Contains(s, "mode must be") {
		t.Errorf("an invalid serialize mode: %v", acc["serialize_mode"])
	}
	res := w.res
	if res.Method != "PUT" || res.Path != "/new" || res.Scheme != "https" || res.UpstreamHeader("X-Bulk") != "b" ||
		res.Target != "target.test:8080" || res.Upstream != "pool" || !res.Buffering {
		t.Errorf("upstream request: %s %s %s %v target %q upstream %q buffering %v", res.Method, res.Scheme, res.Path,
			res.Header, res.Target, res.Upstream, res.Buffering)
	}
	if string(res.ResponseBody) != "UPSTREAM BODY" || res.RespHeader("X-Resp") != "r" || res.Status != 202 {
		t.Errorf("response: %d %v %q", res.Status, res.ResponseHeader, res.ResponseBody)
	}
	if len(w.http) != 2 || w.http[0] != "POST http://upstream.test/echo 1 ping" || !strings.HasPrefix(w.http[1], "GET http://upstream.test/timer") {
		t.Errorf("outbound requests: %q", w.http)
	}
	if got := w.report["shared.log"]; !strings.Contains(got, `"tour":{"a":"b"}`) || !strings.Contains(got, `"method":"POST"`) {
		t.Errorf("log phase: %s", got)
	}
}

// TestTourFaults: an operation outside its phases, a panic and an error
// fail the phase in both runtimes; the next request is served.
func TestTourFaults(t *testing.T) {
	native, err := tour.Plugin.Provide("tour")
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []struct {
		name string
		pp   hostabi.ProvidedPlugin
	}{{"native", native}, {"wasm", tourWasm(t)}} {
		t.Run(rt.name, func(t *testing.T) {
			for _, c := range []struct {
				misbehave string
				phase     hostabi.Phase
				want      string
			}{
				{"exit-in-log", hostabi.PhaseLog, "kong.response.exit cannot be called in log phase"},
				{"panic", hostabi.PhaseAccess, "tour panics"},
				{"error", hostabi.PhaseAccess, "tour fails"},
			} {
				inst := plugintest.NewProvided(t, rt.pp, map[string]any{"misbehave": c.misbehave})
				k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
				err := func() (err error) {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("%s: the phase panicked: %v", c.misbehave, p)
						}
					}()
					return plugintest.Call(k, inst, c.phase)
				}()
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: %v, want an error with %q", c.misbehave, err, c.want)
				}
				if k.Result().Exited {
					t.Errorf("%s: exited", c.misbehave)
				}
			}
			if _, err := plugintest.TryProvided(rt.pp, map[string]any{"misbehave": "sometimes"}); err == nil {
				t.Error("a value outside one_of was accepted")
			}
			if _, err := plugintest.TryProvided(rt.pp, map[string]any{"refuse": true}); err == nil ||
				!strings.Contains(err.Error(), "refused on purpose") {
				t.Errorf("Validate's refusal: %v", err)
			}
		})
	}
}

// TestUnregisteredModule: a module that links the SDK without registering
// a plugin is refused when loaded, with the SDK's reason.
func TestUnregisteredModule(t *testing.T) {
	_, err := load.TryWasm(t, load.Build(t, "testdata/noregister"), load.Options{})
	if err == nil || !strings.Contains(err.Error(), "no plugin registered") {
		t.Errorf("load: %v", err)
	}
}

// TestHostileSDKGuest: a handler that never returns and one that
// allocates without bound each cost their request an error (the node's
// 500) through the Wasm host's time and memory limits, every time (the
// next request gets a fresh instance and fails in the same bounded way),
// and a sound configuration of the same module serves.
func TestHostileSDKGuest(t *testing.T) {
	pp, err := load.TryWasm(t, load.Build(t, "testdata/tour"), load.Options{WasmTimeout: time.Second,
		WasmMemoryLimit: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ misbehave, want string }{
		{"loop", "time limit"},
		{"alloc", "memory"},
	} {
		t.Run(c.misbehave, func(t *testing.T) {
			inst := plugintest.NewProvided(t, pp, map[string]any{"misbehave": c.misbehave})
			for i := 0; i < 2; i++ {
				k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
				start := time.Now()
				err := plugintest.Call(k, inst, hostabi.PhaseAccess)
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.want) {
					t.Errorf("request %d: %v, want an error about %q", i+1, err, c.want)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("request %d took %s", i+1, d)
				}
			}
			// A sound configuration of the same module still serves.
			ok := plugintest.NewProvided(t, pp, nil)
			k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
			if err := plugintest.Call(k, ok, hostabi.PhaseHeaderFilter); err != nil {
				t.Errorf("after the hostile requests: %v", err)
			}
		})
	}
}
