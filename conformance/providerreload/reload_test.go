// Package providerreload_test proves plugin reload on a real node: a
// hostabi.Provider whose plugin changes (a Lua or Wasm host re-reading its
// folder) is reloaded through app.Node.ReloadPlugins while clients keep
// sending requests over keep-alive connections. The new definition serves
// every request after the reload, none fails during it, the old one is
// closed once unused, and a reload the node cannot honour (a stored
// configuration the new schema refuses, a factory that fails, other
// entities, a plugin gone) changes nothing.
package providerreload_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

const probeName = "reload-probe"

// generation is one version of the provider's plugin files.
type generation struct {
	// label is what the plugin's instances put in X-Probe.
	label string
	// schema is the config record's rendering ("" for the usual one).
	schema string
	// failNew makes the factory refuse every configuration.
	failNew bool
	// entity adds an entity declaration to the plugin.
	entity bool
	// gone drops the plugin from the provider.
	gone bool
}

// factory serves one generation; it counts init_worker and Close calls.
type factory struct {
	gen    generation
	inits  atomic.Int32
	closed atomic.Int32
}

func (f *factory) New(config map[string]any) (any, error) {
	if f.gen.failNew {
		return nil, fmt.Errorf("generation %s refuses its configuration", f.gen.label)
	}
	tag, _ := config["tag"].(string)
	return probe{value: f.gen.label + "-" + tag}, nil
}

func (f *factory) InitWorker(context.Context) error { f.inits.Add(1); return nil }
func (f *factory) Close() error                     { f.closed.Add(1); return nil }

// probe shows which generation served: X-Probe on the response.
type probe struct{ value string }

func (p probe) Access(k hostabi.Kong) error {
	k.Response().SetHeader("X-Probe", p.value)
	return nil
}

// provider is a plugin folder whose contents the test changes.
type provider struct {
	mu        sync.Mutex
	gen       generation
	factories []*factory
}

func (p *provider) set(g generation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen = g
}

// made returns the factories made so far, oldest first.
func (p *provider) made() []*factory {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*factory(nil), p.factories...)
}

const usualSchema = `{"fields": [{"config": {"type": "record", "required": true, "fields": [
	{"tag": {"type": "string", "default": "none"}}]}}]}`

func (p *provider) Plugins() ([]hostabi.ProvidedPlugin, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen.gone {
		return nil, nil
	}
	src := p.gen.schema
	if src == "" {
		src = usualSchema
	}
	var rendering map[string]any
	if err := json.Unmarshal([]byte(src), &rendering); err != nil {
		return nil, err
	}
	f := &factory{gen: p.gen}
	p.factories = append(p.factories, f)
	def := hostabi.Definition{Name: probeName, Version: "1.0.0", Priority: 10,
		Phases: []hostabi.Phase{hostabi.PhaseAccess}, Schema: rendering}
	if p.gen.entity {
		var es map[string]any
		_ = json.Unmarshal([]byte(`{"fields": [{"id": {"type": "string", "uuid": true, "auto": true}},
			{"name": {"type": "string", "required": true, "unique": true}}]}`), &es)
		def.Entities = []hostabi.EntityDefinition{{Name: "reload_probe_things", Schema: es, EndpointKey: "name"}}
	}
	return []hostabi.ProvidedPlugin{{Definition: def, Factory: f}}, nil
}

func (p *provider) Close() error { return nil }

func start(t *testing.T, p *provider) *app.Node {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{
		"prefix": t.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "127.0.0.1:0",
		"status_listen": "off", "admin_gui_listen": "off", "log_level": "crit", "plugins": "bundled," + probeName,
	}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := app.StartWith(context.Background(), cfg, app.Options{Providers: []hostabi.Provider{p}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func call(t *testing.T, c *http.Client, method, url string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m, res.Header
}

func must(t *testing.T, want int, method, url string, body any) map[string]any {
	t.Helper()
	got, m, _ := call(t, http.DefaultClient, method, url, body)
	if got != want {
		t.Fatalf("%s %s = %d %v, want %d", method, url, got, m, want)
	}
	return m
}

// probeHeader returns X-Probe of a proxied request (fatal unless 200).
func probeHeader(t *testing.T, proxy string) string {
	t.Helper()
	code, body, h := call(t, http.DefaultClient, "GET", proxy+"/p", nil)
	if code != 200 {
		t.Fatalf("proxy = %d %v", code, body)
	}
	return h.Get("X-Probe")
}

func TestReloadReplacesAProvidersPluginUnderLoad(t *testing.T) {
	p := &provider{gen: generation{label: "v1"}}
	n := start(t, p)
	admin, proxy := "http://"+n.Addr("admin"), "http://"+n.Addr("proxy")
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer upstream.Close()
	must(t, 201, "POST", admin+"/services", map[string]any{"name": "s", "url": upstream.URL})
	must(t, 201, "POST", admin+"/services/s/routes", map[string]any{"paths": []string{"/p"}})
	must(t, 201, "POST", admin+"/plugins", map[string]any{"name": probeName, "config": map[string]any{"tag": "a"}})
	waitFor(t, proxy, "v1-a")
	v1 := p.made()[0]
	if v1.inits.Load() != 1 {
		t.Fatalf("v1 init_worker ran %d times at start, want 1", v1.inits.Load())
	}

	// Clients on keep-alive connections send requests all through the
	// reload: each gets 200 from v1 or v2, and once the reload returned,
	// only v2.
	var reloaded atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Value
	var sent atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				after := reloaded.Load()
				res, err := c.Get(proxy + "/p")
				if err != nil {
					bad.Store(err.Error())
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				sent.Add(1)
				got := res.Header.Get("X-Probe")
				if res.StatusCode != 200 || (got != "v1-a" && got != "v2-a") || (after && got != "v2-a") {
					bad.Store(fmt.Sprintf("status %d, X-Probe %q (reload done before the request: %v)", res.StatusCode, got, after))
					return
				}
			}
		}()
	}
	for sent.Load() < 50 && bad.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	p.set(generation{label: "v2"})
	ch, err := n.ReloadPlugins(context.Background())
	reloaded.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	target := sent.Load() + 200
	for sent.Load() < target && bad.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatalf("a request during the reload: %v", b)
	}
	if len(ch.Replaced) != 1 || ch.Replaced[0].Name != probeName || len(ch.Added)+len(ch.Removed) != 0 {
		t.Fatalf("change = %+v, want %s replaced", ch, probeName)
	}
	if got := probeHeader(t, proxy); got != "v2-a" {
		t.Fatalf("after the reload the proxy served %q, want v2-a", got)
	}
	v2 := p.made()[1]
	if v2.inits.Load() != 1 {
		t.Errorf("v2 init_worker ran %d times, want 1", v2.inits.Load())
	}
	// The replaced definition closes once no request holds its snapshot.
	deadline := time.Now().Add(5 * time.Second)
	for v1.closed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if v1.closed.Load() != 1 || v2.closed.Load() != 0 {
		t.Fatalf("closed: v1 %d, v2 %d times; want 1 and 0", v1.closed.Load(), v2.closed.Load())
	}

	// A reload that changes nothing the node sees still asks the
	// provider, and replaces the definition again.
	p.set(generation{label: "v3"})
	if _, err := n.ReloadPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := probeHeader(t, proxy); got != "v3-a" {
		t.Fatalf("after the second reload the proxy served %q, want v3-a", got)
	}
	// The Admin API validates with the reloaded schema and still lists
	// the plugin.
	root := must(t, 200, "GET", admin+"/", nil)
	avail, _ := root["plugins"].(map[string]any)["available_on_server"].(map[string]any)
	if _, ok := avail[probeName]; !ok {
		t.Errorf("GET / available_on_server lacks %s after reload: %v", probeName, avail)
	}
}

func TestRefusedReloadsChangeNothing(t *testing.T) {
	p := &provider{gen: generation{label: "v1"}}
	n := start(t, p)
	admin, proxy := "http://"+n.Addr("admin"), "http://"+n.Addr("proxy")
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer upstream.Close()
	must(t, 201, "POST", admin+"/services", map[string]any{"name": "s", "url": upstream.URL})
	must(t, 201, "POST", admin+"/services/s/routes", map[string]any{"paths": []string{"/p"}})
	must(t, 201, "POST", admin+"/plugins", map[string]any{"name": probeName, "config": map[string]any{"tag": "a"}})
	waitFor(t, proxy, "v1-a")

	for _, tc := range []struct {
		name string
		gen  generation
		want string
	}{
		{"schema refuses the stored config", generation{label: "x", schema: `{"fields": [{"config": {"type": "record", "required": true, "fields": [
			{"tag": {"type": "string", "one_of": ["b"], "default": "b"}}]}}]}`}, "does not suit the reloaded plugin"},
		{"factory fails", generation{label: "x", failNew: true}, "refuses its configuration"},
		{"entities change", generation{label: "x", entity: true}, "restart the node"},
		{"plugin gone", generation{label: "x", gone: true}, "not installed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(p.made())
			p.set(tc.gen)
			_, err := n.ReloadPlugins(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("reload error = %v, want one saying %q", err, tc.want)
			}
			if got := probeHeader(t, proxy); got != "v1-a" {
				t.Fatalf("after a refused reload the proxy served %q, want v1-a", got)
			}
			// Writes still validate against v1's schema.
			must(t, 200, "POST", admin+"/schemas/plugins/validate", map[string]any{"name": probeName, "config": map[string]any{"tag": "z"}})
			// What the refused reload loaded is closed; v1 is not.
			for _, f := range p.made()[before:] {
				if f.closed.Load() != 1 {
					t.Errorf("the refused generation's factory closed %d times, want 1", f.closed.Load())
				}
			}
			if v1 := p.made()[0]; v1.closed.Load() != 0 {
				t.Errorf("v1 closed %d times by a refused reload", v1.closed.Load())
			}
		})
	}
}

// waitFor waits until the proxy serves X-Probe want.
func waitFor(t *testing.T, proxy, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, h := call(t, http.DefaultClient, "GET", proxy+"/p", nil)
		if got := h.Get("X-Probe"); code == 200 && got == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("proxy answers %d with X-Probe %q, want 200 with %q", code, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
