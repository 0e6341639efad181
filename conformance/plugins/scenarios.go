// Package plugins is the runtime-neutral scenario set: the same plugin
// behaviours written once per plugin runtime (native Go here, Lua in
// testdata/lua, Wasm from examples/ and testdata/wasm), each run on a real node over real HTTP,
// where every runtime must give identical upstream requests and client
// responses. A scenario names its plugin "sc-<name>"; each runtime
// provides a plugin of that name with the same configuration fields.
package plugins

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// Scenario is one plugin behaviour: a configuration, Admin API calls that
// prepare the node (consumers), and requests with what must come of them.
type Scenario struct {
	// Name is the scenario's name; its plugin is "sc-" + Name.
	Name   string
	Config map[string]any
	Setup  []AdminCall
	Steps  []Step
}

// Plugin is the scenario's plugin name.
func (s Scenario) Plugin() string { return "sc-" + s.Name }

// AdminCall is one Admin API request (JSON body).
type AdminCall struct {
	Method, Path string
	Body         map[string]any
}

// Step is one request through the proxy and what must come of it.
type Step struct {
	Method, Path string
	Header       map[string]string
	Body         string

	// Status, Header (a subset; "" means absent) and Body (exact; JSON
	// compared as JSON) of the client's response.
	WantStatus int
	WantHeader map[string]string
	WantBody   string
	// Upstream is what the upstream must have received (nil: the
	// request must not have been proxied).
	Upstream *Upstream
}

// Upstream is what the upstream received: headers (a subset; "" means
// absent) and, when set, the body.
type Upstream struct {
	Header map[string]string
	Body   *string
}

func text(s string) *string { return &s }

// UpstreamBody is what the scenarios' upstream answers.
const UpstreamBody = "upstream says hi"

// Scenarios are the behaviours every runtime implements.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "header-rewrite", Config: map[string]any{"header": "X-Added", "value": "yes", "drop": "X-Drop"},
			Steps: []Step{{Method: "GET", Path: "/s/a", Header: map[string]string{"X-Drop": "1", "X-Keep": "k"},
				WantStatus: 200, WantHeader: map[string]string{"X-Scenario": "header-rewrite"}, WantBody: UpstreamBody,
				Upstream: &Upstream{Header: map[string]string{"X-Added": "yes", "X-Drop": "", "X-Keep": "k"}}}}},
		{Name: "api-key", Config: map[string]any{"keys": []any{"k1", "k2"}, "header": "x-api-key"},
			Steps: []Step{
				{Method: "GET", Path: "/s", WantStatus: 401, WantBody: `{"message":"No API key found in request"}`,
					WantHeader: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
				{Method: "GET", Path: "/s", Header: map[string]string{"X-Api-Key": "nope"}, WantStatus: 403,
					WantBody: `{"message":"Invalid API key"}`},
				{Method: "GET", Path: "/s", Header: map[string]string{"X-Api-Key": "k2"}, WantStatus: 200, WantBody: UpstreamBody,
					Upstream: &Upstream{Header: map[string]string{"X-Key-Index": "2", "X-Api-Key": "k2"}}},
			}},
		{Name: "body-rule", Config: map[string]any{"forbidden": "DROP TABLE"},
			Steps: []Step{
				{Method: "POST", Path: "/s", Body: "name=x; DROP TABLE users", Header: map[string]string{"Content-Type": "text/plain"},
					WantStatus: 400, WantBody: `{"message":"forbidden content"}`},
				{Method: "POST", Path: "/s", Body: "name=x", Header: map[string]string{"Content-Type": "text/plain"},
					WantStatus: 200, WantBody: UpstreamBody, Upstream: &Upstream{Body: text("name=x")}},
			}},
		{Name: "counter", Config: map[string]any{"header": "x-user"},
			Steps: []Step{
				{Method: "GET", Path: "/s", Header: map[string]string{"X-User": "alice"}, WantStatus: 200,
					WantHeader: map[string]string{"X-Count": "1"}, Upstream: &Upstream{}},
				{Method: "GET", Path: "/s", Header: map[string]string{"X-User": "alice"}, WantStatus: 200,
					WantHeader: map[string]string{"X-Count": "2"}, Upstream: &Upstream{}},
				{Method: "GET", Path: "/s", Header: map[string]string{"X-User": "bob"}, WantStatus: 200,
					WantHeader: map[string]string{"X-Count": "1"}, Upstream: &Upstream{}},
				{Method: "GET", Path: "/s", Header: map[string]string{"X-User": "alice"}, WantStatus: 200,
					WantHeader: map[string]string{"X-Count": "3"}, Upstream: &Upstream{}},
			}},
		{Name: "exit", Config: map[string]any{"status": 418, "body": "I'm a teapot", "content_type": "text/plain"},
			Steps: []Step{{Method: "GET", Path: "/s", WantStatus: 418, WantBody: "I'm a teapot",
				WantHeader: map[string]string{"Content-Type": "text/plain", "X-Scenario": "exit"}}}},
		{Name: "consumer-auth", Config: map[string]any{"header": "x-user"},
			Setup: []AdminCall{{Method: "POST", Path: "/consumers", Body: map[string]any{"username": "alice", "custom_id": "c-alice"}}},
			Steps: []Step{
				{Method: "GET", Path: "/s", WantStatus: 401, WantBody: `{"message":"Unauthorized"}`},
				{Method: "GET", Path: "/s", Header: map[string]string{"X-User": "mallory"}, WantStatus: 401,
					WantBody: `{"message":"Unauthorized"}`},
				{Method: "GET", Path: "/s", Header: map[string]string{"X-User": "alice"}, WantStatus: 200, WantBody: UpstreamBody,
					Upstream: &Upstream{Header: map[string]string{"X-Consumer-Username": "alice", "X-Consumer-Custom-Id": "c-alice"}}},
			}},
	}
}

// Runtime makes the scenario plugins available on a node.
type Runtime struct {
	Name string
	// Node returns the options and settings of a node that serves every
	// scenario's plugin ("plugins" is set by Run).
	Node func(t *testing.T) (app.Options, map[string]string)
	// Skip names the scenarios this runtime cannot express, each with
	// the reason; Run leaves them out and Same does not compare them.
	Skip map[string]string
	// FilterChain attaches each scenario's plugin, a proxy-wasm filter,
	// as Kong users run filters: in a route filter chain
	// (POST /routes/{r}/filter-chains) with the scenario's configuration
	// as the filter's config, instead of as a plugin.
	FilterChain bool
}

// Outcome is what one step gave, for comparing runtimes.
type Outcome struct {
	Status   int
	Header   http.Header
	Body     string
	Proxied  bool
	Upstream *http.Request
	UpBody   string
}

// Run runs every scenario on a node of rt and checks each step; it returns
// the outcomes by scenario, for comparison across runtimes.
func Run(t *testing.T, rt Runtime) map[string][]Outcome {
	out := map[string][]Outcome{}
	for _, sc := range Scenarios() {
		if _, skip := rt.Skip[sc.Name]; skip {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) { out[sc.Name] = runScenario(t, rt, sc) })
	}
	return out
}

// recorder is the upstream: it keeps the last request it received.
type recorder struct {
	mu   sync.Mutex
	n    int
	last *http.Request
	body string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.n++
	r.last, r.body = req.Clone(req.Context()), string(b)
	r.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, UpstreamBody)
}

func (r *recorder) state() (int, *http.Request, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.last, r.body
}

func runScenario(t *testing.T, rt Runtime, sc Scenario) []Outcome {
	opts, settings := rt.Node(t)
	s := map[string]string{"plugins": "bundled," + sc.Plugin()}
	for k, v := range settings {
		s[k] = v
	}
	n := testnode.StartWith(t, s, opts)
	up := &recorder{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	admin := "http://" + n.Addr("admin")
	call := func(c AdminCall) {
		t.Helper()
		b, _ := json.Marshal(c.Body)
		req, _ := http.NewRequest(c.Method, admin+c.Path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", c.Method, c.Path, res.StatusCode, body)
		}
	}
	for _, c := range sc.Setup {
		call(c)
	}
	call(AdminCall{Method: "POST", Path: "/services", Body: map[string]any{"name": "s", "url": srv.URL}})
	call(AdminCall{Method: "POST", Path: "/services/s/routes", Body: map[string]any{"name": "s", "paths": []any{"/s"}}})
	proxy := "http://" + n.Addr("proxy")
	if rt.FilterChain {
		// The filters declare an object config (NAME.meta.json): the
		// scenario's configuration as is, which the filter gets as JSON.
		call(AdminCall{Method: "POST", Path: "/routes/s/filter-chains", Body: map[string]any{"name": "sc",
			"filters": []any{map[string]any{"name": sc.Plugin(), "config": sc.Config}}}})
		waitForFilterChain(t, n)
	} else {
		call(AdminCall{Method: "POST", Path: "/routes/s/plugins", Body: map[string]any{"name": sc.Plugin(), "config": sc.Config}})
		waitForPlugin(t, n, sc.Plugin())
	}

	var outcomes []Outcome
	for i, st := range sc.Steps {
		before, _, _ := up.state()
		req, _ := http.NewRequest(st.Method, proxy+st.Path, strings.NewReader(st.Body))
		for k, v := range st.Header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		after, last, upBody := up.state()
		o := Outcome{Status: res.StatusCode, Header: res.Header, Body: string(b), Proxied: after > before}
		if o.Proxied {
			o.Upstream, o.UpBody = last, upBody
		}
		outcomes = append(outcomes, o)
		check(t, i+1, st, o)
	}
	return outcomes
}

// waitForPlugin waits until the node's proxy configuration holds the
// plugin, without sending requests (they would count).
func waitForPlugin(t *testing.T, n *app.Node, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if snap := n.Snapshots().Current(); snap != nil && snap.Plugins != nil {
			for _, in := range snap.Plugins.Instances() {
				if in.Name == name {
					return
				}
			}
			// A proxy-wasm filter configured as a plugin runs in its
			// route's filter chain (Kong 3.6+).
			if snap.FilterChains.Has(name) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy never got plugin %s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitForFilterChain waits until the node's proxy configuration holds a
// filter chain, without sending requests (they would count).
func waitForFilterChain(t *testing.T, n *app.Node) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if snap := n.Snapshots().Current(); snap != nil && snap.FilterChains != nil && !snap.FilterChains.Empty() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxy never got the filter chain")
		}
	}
}

func check(t *testing.T, step int, st Step, o Outcome) {
	t.Helper()
	if o.Status != st.WantStatus {
		t.Errorf("step %d: status %d (%s), want %d", step, o.Status, o.Body, st.WantStatus)
	}
	for k, v := range st.WantHeader {
		if got := o.Header.Get(k); got != v {
			t.Errorf("step %d: response header %s = %q, want %q", step, k, got, v)
		}
	}
	if st.WantBody != "" && !sameBody(o.Body, st.WantBody) {
		t.Errorf("step %d: body %q, want %q", step, o.Body, st.WantBody)
	}
	switch {
	case st.Upstream == nil && o.Proxied:
		t.Errorf("step %d: proxied, want it stopped at the gateway", step)
	case st.Upstream != nil && !o.Proxied:
		t.Errorf("step %d: not proxied", step)
	case st.Upstream != nil:
		for k, v := range st.Upstream.Header {
			if got := o.Upstream.Header.Get(k); got != v {
				t.Errorf("step %d: upstream header %s = %q, want %q", step, k, got, v)
			}
		}
		if st.Upstream.Body != nil && o.UpBody != *st.Upstream.Body {
			t.Errorf("step %d: upstream body %q, want %q", step, o.UpBody, *st.Upstream.Body)
		}
	}
}

// sameBody compares JSON bodies as JSON, others exactly.
func sameBody(got, want string) bool {
	if strings.HasPrefix(want, "{") {
		var a, b any
		if json.Unmarshal([]byte(got), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
			return false
		}
		ga, _ := json.Marshal(a)
		gb, _ := json.Marshal(b)
		return bytes.Equal(ga, gb)
	}
	return got == want
}

// Same reports the differences between two runtimes' outcomes of the
// same scenarios: status, the scenario-relevant headers, body, whether
// proxied, and the upstream request's headers the scenarios set. The
// scenarios named in skip (a runtime's Skip) are not compared.
func Same(a, b map[string][]Outcome, skip map[string]string) []string {
	var diffs []string
	for _, sc := range Scenarios() {
		if _, ok := skip[sc.Name]; ok {
			continue
		}
		oa, ob := a[sc.Name], b[sc.Name]
		if len(oa) != len(ob) {
			diffs = append(diffs, sc.Name+": different step counts")
			continue
		}
		for i := range oa {
			x, y := oa[i], ob[i]
			if x.Status != y.Status || x.Body != y.Body || x.Proxied != y.Proxied {
				diffs = append(diffs, sc.Name+": step "+itoa(i+1)+": status, body or proxying differ")
			}
			for _, h := range []string{"Content-Type", "X-Scenario", "X-Count"} {
				if x.Header.Get(h) != y.Header.Get(h) {
					diffs = append(diffs, sc.Name+": step "+itoa(i+1)+": response header "+h+" differs")
				}
			}
			if x.Proxied && y.Proxied {
				for _, h := range []string{"X-Added", "X-Drop", "X-Key-Index", "X-Consumer-Username", "X-Consumer-Custom-Id"} {
					if x.Upstream.Header.Get(h) != y.Upstream.Header.Get(h) {
						diffs = append(diffs, sc.Name+": step "+itoa(i+1)+": upstream header "+h+" differs")
					}
				}
				if x.UpBody != y.UpBody {
					diffs = append(diffs, sc.Name+": step "+itoa(i+1)+": upstream body differs")
				}
			}
		}
	}
	return diffs
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
