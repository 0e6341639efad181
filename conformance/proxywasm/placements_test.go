package proxywasm_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/wasmnode"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// placement puts the test filter with a configuration in front of a
// route: a route's filter chain, its service's filter chain, or a plugin
// named after the filter on the route.
type placement struct {
	name  string
	place func(nd *node, service, route string, config map[string]any)
}

var placements = []placement{
	{"route filter chain", func(nd *node, _, route string, config map[string]any) {
		nd.mustCreate("/routes/"+route+"/filter-chains", map[string]any{"name": route + "-chain",
			"filters": []any{map[string]any{"name": "pwfilter", "config": jsonString(config)}}})
	}},
	{"service filter chain", func(nd *node, service, _ string, config map[string]any) {
		nd.mustCreate("/services/"+service+"/filter-chains", map[string]any{"name": service + "-chain",
			"filters": []any{map[string]any{"name": "pwfilter", "config": jsonString(config)}}})
	}},
	{"filter plugin", func(nd *node, _, route string, config map[string]any) {
		nd.mustCreate("/routes/"+route+"/plugins", map[string]any{"name": "pwfilter", "config": filterPluginConfig(jsonString(config))})
	}},
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestPlacements runs the test filter, through the real proxy listener,
// from a route filter chain, a service filter chain (the service's route)
// and a filter plugin, with one configuration doing everything: headers
// changed both ways, bodies rewritten both ways, a local response, every
// request paused on a proxy_http_call to a loopback checker whose answer
// decides, a tick counting in shared data that requests read, properties
// of route, service and consumer (key-auth on the route authenticates
// alice first), and a trap in each callback (x-trap names it).
func TestPlacements(t *testing.T) {
	dir := t.TempDir()
	buildFilter(t, dir, "filter", "pwfilter")
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	logs := &wasmnode.Logs{}
	// a generous time limit: a Go guest on a loaded machine under -race
	p, names, err := wasmplugins.Filters(dir, nil, wasmplugins.Options{Prefix: t.TempDir(), CacheDir: cache,
		Timeout: 2 * time.Second, Logger: slog.New(logs)})
	if err != nil || p == nil {
		t.Fatalf("filters: %v (%v)", err, names)
	}
	n := testnode.StartWith(t, map[string]string{"wasm": "on", "wasm_filters_path": dir},
		app.Options{Providers: []hostabi.Provider{p}, Enabled: names, Logger: slog.New(logs)})
	nd := &node{&wasmnode.Node{T: t, N: n, Admin: "http://" + n.Addr("admin"), Proxy: "http://" + n.Addr("proxy"), Logs: logs,
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}}}
	up := newEcho(t)
	checker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if user := r.URL.Query().Get("user"); user == "alice" && r.Header.Get("X-From") == "filter" && string(b) == "ping" && r.URL.Path == "/check" {
			w.Write([]byte("ok-" + user))
			return
		}
		w.WriteHeader(401)
		w.Write([]byte("no"))
	}))
	t.Cleanup(checker.Close)
	consumer := nd.mustCreate("/consumers", map[string]any{"username": "alice"})
	nd.mustCreate("/consumers/alice/key-auth", map[string]any{"key": "alice-key"})

	type placed struct {
		placement
		path, routeID, serviceID, service, route string
	}
	var all []placed
	for i, pl := range placements {
		service, route := "pl"+strconv.Itoa(i)+"-svc", "pl"+strconv.Itoa(i)
		svc := nd.mustCreate("/services", map[string]any{"name": service, "url": up.URL})
		rt := nd.mustCreate("/services/"+service+"/routes", map[string]any{"name": route, "paths": []string{"/" + route}})
		nd.mustCreate("/routes/"+route+"/plugins", map[string]any{"name": "key-auth"})
		pl.place(nd, service, route, map[string]any{
			"add_req": map[string]string{"x-added": "a"}, "replace_req": map[string]string{"x-rep": "new"},
			"remove_req": []string{"x-remove"}, "echo_method_to": "x-method",
			"add_resp": map[string]string{"x-resp-added": "b"}, "replace_resp": map[string]string{"x-up-replace": "new"},
			"remove_resp": []string{"x-up-remove"}, "req_body_suffix": "+req", "resp_body_prefix": "pre:",
			"deny_header": "x-deny", "call_upstream": strings.TrimPrefix(checker.URL, "http://"), "call_path": "/check",
			"tick_ms": 10, "count_key": "ticks-" + route, "trap": "by-header",
			"props": []string{"kong.route_id", "kong.service_id", "kong.route_name", "kong.service_name", "kong.client.consumer_id"},
		})
		all = append(all, placed{pl, "/" + route, rt["id"].(string), svc["id"].(string), service, route})
	}
	// alice's requests (her key, her name for the checker)
	alice := func(p placed, method, body string, headers ...string) (int, http.Header, string) {
		t.Helper()
		return nd.do(method, p.path, body, append([]string{"apikey", "alice-key", "X-User", "alice"}, headers...)...)
	}
	// upstream decodes a proxied answer: the filter's prefix, then the echo.
	upstream := func(t *testing.T, status int, body string) echoed {
		t.Helper()
		rest, ok := strings.CutPrefix(body, "pre:")
		if status != 200 || !ok {
			t.Fatalf("status %d body %q: want 200 with the filter's prefix pre:", status, body)
		}
		return decode(t, rest)
	}
	// every placement runs its filter before the checks start
	for _, p := range all {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			status, h, _ := alice(p, "GET", "")
			if status == 200 && h.Get("X-Resp-Added") == "b" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the filter never ran (%d)\n%s", p.name, status, logs.Dump())
			}
		}
	}

	for _, p := range all {
		t.Run(p.name, func(t *testing.T) {
			t.Run("headers both ways", func(t *testing.T) {
				status, h, body := alice(p, "GET", "", "X-Rep", "old", "X-Remove", "1", "X-Keep", "k")
				e := upstream(t, status, body)
				checks := []struct{ name, got, want string }{
					{"upstream x-added", strings.Join(e.Headers["X-Added"], ","), "a"},
					{"upstream x-rep", strings.Join(e.Headers["X-Rep"], ","), "new"},
					{"upstream x-remove", strings.Join(e.Headers["X-Remove"], ","), ""},
					{"upstream x-keep", strings.Join(e.Headers["X-Keep"], ","), "k"},
					{"upstream x-method (:method)", strings.Join(e.Headers["X-Method"], ","), "GET"},
					{"response x-resp-added", h.Get("X-Resp-Added"), "b"},
					{"response x-up-replace", strings.Join(h.Values("X-Up-Replace"), ","), "new"},
					{"response x-up-remove", h.Get("X-Up-Remove"), ""},
					{"response x-upstream", h.Get("X-Upstream"), "echo"},
				}
				for _, c := range checks {
					if c.got != c.want {
						t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
					}
				}
			})

			t.Run("bodies both ways", func(t *testing.T) {
				status, _, body := alice(p, "POST", "hello", "Content-Type", "text/plain")
				if e := upstream(t, status, body); e.Body != "hello+req" {
					t.Errorf("upstream body %q, want hello+req", e.Body)
				}
			})

			t.Run("local response", func(t *testing.T) {
				before := up.hits.Load()
				status, h, body := alice(p, "GET", "", "X-Deny", "yes")
				if status != 403 || body != "denied: yes" || h.Get("X-Why") != "filter" {
					t.Errorf("got %d %q %v, want 403 \"denied: yes\" with x-why", status, body, h)
				}
				if up.hits.Load() != before {
					t.Error("a local response was proxied")
				}
			})

			t.Run("http call decides while the request waits", func(t *testing.T) {
				status, _, body := alice(p, "GET", "")
				if got := strings.Join(upstream(t, status, body).Headers["X-Call"], ","); got != "ok-alice" {
					t.Errorf("upstream x-call = %q, want ok-alice", got)
				}
				before := up.hits.Load()
				status, _, body = nd.do("GET", p.path, "", "apikey", "alice-key", "X-User", "mallory")
				if status != 403 || body != "call said 401: no" || up.hits.Load() != before {
					t.Errorf("refused call: %d %q (proxied: %v), want 403 \"call said 401: no\" not proxied",
						status, body, up.hits.Load() != before)
				}
			})

			t.Run("tick updates shared data requests read", func(t *testing.T) {
				// count is -1 until the filter's first tick has stored a
				// count (a chain just placed may not have ticked yet).
				count := func() int {
					status, _, body := alice(p, "GET", "")
					v := strings.Join(upstream(t, status, body).Headers["X-Count"], "")
					if v == "" {
						return -1
					}
					n, err := strconv.Atoi(v)
					if err != nil {
						t.Fatalf("x-count: %v", err)
					}
					return n
				}
				deadline := time.Now().Add(10 * time.Second)
				first := count()
				for ; first < 0; first = count() {
					if time.Now().After(deadline) {
						t.Fatal("no tick stored a count")
					}
					time.Sleep(20 * time.Millisecond)
				}
				for count() <= first {
					if time.Now().After(deadline) {
						t.Fatalf("the tick count stayed at %d", first)
					}
					time.Sleep(20 * time.Millisecond)
				}
			})

			t.Run("properties of route, service and consumer", func(t *testing.T) {
				status, h, body := alice(p, "GET", "")
				upstream(t, status, body)
				want := map[string]string{"kong.route_id": p.routeID, "kong.service_id": p.serviceID,
					"kong.route_name": p.route, "kong.service_name": p.service, "kong.client.consumer_id": consumer["id"].(string)}
				for prop, w := range want {
					if got := h.Get("X-Prop-" + prop); got != w {
						t.Errorf("property %s = %q, want %q", prop, got, w)
					}
				}
			})

			t.Run("a trap in each callback fails closed", func(t *testing.T) {
				for _, tc := range []struct {
					where         string
					beforeProxied bool
				}{{"request_headers", true}, {"http_call_response", true}, {"request_body", true},
					{"response_headers", false}, {"response_body", false}} {
					where := tc.where
					before := up.hits.Load()
					status, _, body := alice(p, "POST", "data", "X-Trap", where)
					if status != 500 {
						t.Errorf("%s: a trap answered %d %q, want 500", where, status, body)
					}
					if tc.beforeProxied && up.hits.Load() != before {
						t.Errorf("%s: the request was proxied after the trap", where)
					}
					if strings.Contains(body, "pre:") {
						t.Errorf("%s: a half-processed response was sent: %q", where, body)
					}
					status, _, body = alice(p, "POST", "data")
					if e := upstream(t, status, body); e.Body != "data+req" {
						t.Errorf("%s: the next request's upstream body %q", where, e.Body)
					}
				}
				// a trap in proxy_on_log comes after the response: it is
				// sent whole, and the next request is served
				status, _, body := alice(p, "GET", "", "X-Trap", "log")
				upstream(t, status, body)
				status, _, body = alice(p, "GET", "")
				upstream(t, status, body)
			})
		})
	}
}
