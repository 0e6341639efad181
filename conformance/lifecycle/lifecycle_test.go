// Package lifecycle_test proves Kong's plugin-level phases on a real node:
// init_worker runs once per plugin when the node starts, and configure
// sees the plugin's active configurations after every change made through
// the Admin API (POST, PATCH, DELETE over real HTTP), for a plugin given
// as a Go definition and for one a hostabi.Provider delivers. A plugin
// whose configure panics (and whose init_worker fails) neither stops the
// node nor the snapshot.
package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

const (
	probeName = "lifecycle-probe"
	faultName = "lifecycle-fault"
)

// recorder counts init_worker calls and keeps every configure's configs.
type recorder struct {
	mu         sync.Mutex
	inits      int
	configures [][]map[string]any
}

func (r *recorder) InitWorker(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inits++
	return nil
}

func (r *recorder) Configure(_ context.Context, configs []map[string]any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.configures = append(r.configures, configs)
	return nil
}

// state returns the init count, the number of configure calls and the
// last configure's configs.
func (r *recorder) state() (inits, calls int, last []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.configures); n > 0 {
		last = r.configures[n-1]
	}
	return r.inits, len(r.configures), last
}

func (r *recorder) New(config map[string]any) (any, error) {
	tag, _ := config["tag"].(string)
	return probe{tag: tag}, nil
}

// probe shows which configuration serves: X-Probe-Tag on the response.
type probe struct{ tag string }

func (p probe) Access(k hostabi.Kong) error {
	k.Response().SetHeader("X-Probe-Tag", p.tag)
	return nil
}

// faulty fails init_worker and panics in configure.
type faulty struct{}

func (faulty) InitWorker(context.Context) error { return errors.New("init_worker refused") }
func (faulty) Configure(context.Context, []map[string]any) error {
	panic("configure exploded")
}
func (faulty) New(map[string]any) (any, error) { return struct{}{}, nil }

func probeSchema(name string) *store.PluginSchema {
	return &store.PluginSchema{Name: name, Config: &schema.Schema{Fields: []*schema.Field{
		{Name: "tag", Type: schema.String, Default: "none"},
	}}}
}

// definitions are the two plugins as Go definitions.
func definitions(r *recorder) []*plugin.Definition {
	return []*plugin.Definition{
		{Name: probeName, Version: "0.0.1", Priority: 10, Phases: []hostabi.Phase{hostabi.PhaseAccess},
			Schema: probeSchema(probeName), New: r.New, InitWorker: r.InitWorker, Configure: r.Configure},
		{Name: faultName, Version: "0.0.1", Priority: 5, Schema: probeSchema(faultName),
			New: faulty{}.New, InitWorker: faulty{}.InitWorker, Configure: faulty{}.Configure},
	}
}

// provider delivers the same two plugins as data; the factories implement
// hostabi.WorkerIniter and hostabi.Configurer.
type provider struct{ r *recorder }

func (p provider) Plugins() ([]hostabi.ProvidedPlugin, error) {
	rendering := func(string) map[string]any {
		var m map[string]any
		_ = json.Unmarshal([]byte(`{"fields": [{"config": {"type": "record", "required": true, "fields": [
			{"tag": {"type": "string", "default": "none"}}]}}]}`), &m)
		return m
	}
	return []hostabi.ProvidedPlugin{
		{Definition: hostabi.Definition{Name: probeName, Version: "0.0.1", Priority: 10,
			Phases: []hostabi.Phase{hostabi.PhaseAccess}, Schema: rendering(probeName)}, Factory: p.r},
		{Definition: hostabi.Definition{Name: faultName, Version: "0.0.1", Priority: 5,
			Schema: rendering(faultName)}, Factory: faulty{}},
	}, nil
}

func (provider) Close() error { return nil }

var (
	_ hostabi.WorkerIniter = (*recorder)(nil)
	_ hostabi.Configurer   = (*recorder)(nil)
	_ hostabi.WorkerIniter = faulty{}
	_ hostabi.Configurer   = faulty{}
)

func start(t *testing.T, opts app.Options) *app.Node {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{
		"prefix": t.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "127.0.0.1:0",
		"status_listen": "off", "admin_gui_listen": "off", "log_level": "crit", "plugins": "bundled," + probeName + "," + faultName,
	}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := app.StartWith(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// call sends a JSON request and returns the status, the decoded body and
// the response headers.
func call(t *testing.T, method, url string, body any) (int, map[string]any, http.Header) {
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
	res, err := http.DefaultClient.Do(req)
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
	got, m, _ := call(t, method, url, body)
	if got != want {
		t.Fatalf("%s %s = %d %v, want %d", method, url, got, m, want)
	}
	return m
}

// tags are the "tag" values of configs, in order; nil for nil.
func tags(configs []map[string]any) []string {
	if configs == nil {
		return nil
	}
	out := []string{}
	for _, c := range configs {
		out = append(out, fmt.Sprint(c["tag"]))
	}
	return out
}

// eventually waits until the probe's last configure saw want (tags in
// entity id order; nil for Kong's nil), with more calls than before.
func eventually(t *testing.T, r *recorder, after int, want []string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, calls, last := r.state()
		if calls > after && reflect.DeepEqual(tags(last), want) {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("configure saw %q after %d calls, want %q", tags(last), calls, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInitWorkerAndConfigure(t *testing.T) {
	for _, mode := range []string{"definition", "provider"} {
		t.Run(mode, func(t *testing.T) {
			r := &recorder{}
			opts := app.Options{Plugins: definitions(r)}
			if mode == "provider" {
				opts = app.Options{Providers: []hostabi.Provider{provider{r}}}
			}
			n := start(t, opts)
			admin := "http://" + n.Addr("admin")
			proxy := "http://" + n.Addr("proxy")

			inits, calls, last := r.state()
			if inits != 1 || calls != 1 || last != nil {
				t.Fatalf("after start: %d init_worker, %d configure (last %v), want 1, 1, nil", inits, calls, last)
			}

			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
			defer upstream.Close()
			svc := must(t, 201, "POST", admin+"/services", map[string]any{"name": "s", "url": upstream.URL})
			must(t, 201, "POST", admin+"/services/s/routes", map[string]any{"paths": []string{"/p"}})
			calls = eventually(t, r, calls, nil) // the service and route rebuilt the snapshot

			// The faulty plugin's configure panics on every rebuild from
			// here on; the probe and the proxy go on.
			must(t, 201, "POST", admin+"/plugins", map[string]any{"name": faultName})
			global := must(t, 201, "POST", admin+"/plugins", map[string]any{"name": probeName, "config": map[string]any{"tag": "g"}})
			calls = eventually(t, r, calls, []string{"g"})
			scoped := must(t, 201, "POST", admin+"/plugins", map[string]any{"name": probeName,
				"service": map[string]any{"id": svc["id"]}, "config": map[string]any{"tag": "s"}})
			both := []string{"g", "s"}
			if scoped["id"].(string) < global["id"].(string) {
				both = []string{"s", "g"}
			}
			calls = eventually(t, r, calls, both)
			if _, _, h := call(t, "GET", proxy+"/p", nil); h.Get("X-Probe-Tag") != "s" {
				t.Errorf("proxy served tag %q, want the service's s", h.Get("X-Probe-Tag"))
			}

			must(t, 200, "PATCH", admin+"/plugins/"+scoped["id"].(string), map[string]any{"config": map[string]any{"tag": "s2"}})
			patched := []string{"g", "s2"}
			if both[0] == "s" {
				patched = []string{"s2", "g"}
			}
			calls = eventually(t, r, calls, patched)
			if _, _, h := call(t, "GET", proxy+"/p", nil); h.Get("X-Probe-Tag") != "s2" {
				t.Errorf("after PATCH the proxy served tag %q, want s2", h.Get("X-Probe-Tag"))
			}

			must(t, 200, "PATCH", admin+"/plugins/"+global["id"].(string), map[string]any{"enabled": false})
			calls = eventually(t, r, calls, []string{"s2"}) // only active configurations
			must(t, 204, "DELETE", admin+"/plugins/"+scoped["id"].(string), nil)
			calls = eventually(t, r, calls, nil)
			must(t, 204, "DELETE", admin+"/plugins/"+global["id"].(string), nil)
			eventually(t, r, calls, nil)

			if inits, _, _ := r.state(); inits != 1 {
				t.Errorf("init_worker ran %d times, want once", inits)
			}
			if err := n.Snapshots().LastError(); err != nil {
				t.Errorf("a rebuild failed: %v", err)
			}
		})
	}
}
