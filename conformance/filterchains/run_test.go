// Package filterchains_test runs Kong filter chains through a real node:
// each filter runs as the plugin named after it, in chain order, after the
// other plugins' access phase. Native test plugins stand in for the
// proxy-wasm filters (the proxy-wasm host provides the real ones), so the
// wiring is tested on its own.
package filterchains_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// orderFilter appends its label to the request's X-Order header (kept in
// the shared request context), the way a header-adding filter would.
type orderFilter struct{ label string }

func (f orderFilter) Access(k hostabi.Kong) error {
	order := f.label
	if v, ok := k.Ctx().Shared().Get("order"); ok {
		order = v.(string) + "," + f.label
	}
	k.Ctx().Shared().Set("order", order)
	k.ServiceRequest().SetHeader("X-Order", order)
	return nil
}

func init() {
	// "fc-add" stands for a proxy-wasm filter plugin: Kong's filter plugin
	// schema, its config the filter's (a string or JSON), which the node
	// hands to the factory as {"config": <value>}.
	plugin.Register(&plugin.Definition{Name: "fc-add", Version: "0.1.0", Priority: 0,
		Schema: store.FilterPluginSchema("fc-add"),
		New: func(cfg map[string]any) (any, error) {
			switch v := cfg["config"].(type) {
			case string:
				return orderFilter{v}, nil
			case map[string]any:
				return orderFilter{fmt.Sprint(v["label"])}, nil
			}
			return orderFilter{"none"}, nil
		}})
	// "fc-plugin" is an ordinary plugin of the lowest usual priority:
	// chains run after it, as Kong attaches them after the access phase.
	plugin.Register(&plugin.Definition{Name: "fc-plugin", Version: "1", Priority: 1,
		Schema: &store.PluginSchema{Name: "fc-plugin", Config: &schema.Schema{}},
		New:    func(map[string]any) (any, error) { return orderFilter{"plugin"}, nil }})
}

type node struct {
	t            *testing.T
	admin, proxy string
}

func (n *node) call(method, path string, body any) (int, map[string]any) {
	n.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, n.admin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	if res.StatusCode >= 300 {
		n.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// get proxies GET path and returns the status and the upstream's view of
// X-Order.
func (n *node) get(client *http.Client, path string) (int, string) {
	res, err := client.Get(n.proxy + path)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get("X-Seen-Order")
}

// waitFor polls until the proxy answers path with the order.
func (n *node) waitFor(path string, status int, order string) {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, o := n.get(http.DefaultClient, path)
		if s == status && o == order {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("GET %s: %d %q, want %d %q", path, s, o, status, order)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChainsRunAsFilterPlugins(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Order", r.Header.Get("X-Order"))
		w.Write([]byte("ok"))
	}), ReadHeaderTimeout: 5 * time.Second}
	go up.Serve(ln)
	t.Cleanup(func() { up.Close() })

	dir := t.TempDir()
	for _, f := range []string{"fc-add.wasm", "fc-missing.wasm"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// fc-add takes a string or an object (its NAME.meta.json says so).
	if err := os.WriteFile(filepath.Join(dir, "fc-add.meta.json"), []byte(`{"config_schema": {"type": ["string", "object"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	nd := testnode.Start(t, map[string]string{"plugins": "bundled,fc-add,fc-plugin", "wasm": "on", "wasm_filters_path": dir})
	n := &node{t: t, admin: "http://" + nd.Addr("admin"), proxy: "http://" + nd.Addr("proxy")}
	n.call("POST", "/services", map[string]any{"name": "s", "url": "http://" + ln.Addr().String()})
	n.call("POST", "/services", map[string]any{"name": "s2", "url": "http://" + ln.Addr().String()})
	n.call("POST", "/services/s/routes", map[string]any{"name": "both", "paths": []string{"/both"}})
	n.call("POST", "/services/s/routes", map[string]any{"name": "svc-only", "paths": []string{"/svc"}})
	n.call("POST", "/services/s2/routes", map[string]any{"name": "route-only", "paths": []string{"/route"}})
	n.call("POST", "/services/s2/routes", map[string]any{"name": "none", "paths": []string{"/none"}})
	n.call("POST", "/plugins", map[string]any{"name": "fc-plugin"})
	n.call("POST", "/services/s/filter-chains", map[string]any{"name": "sc", "filters": []any{
		map[string]any{"name": "fc-add", "config": "s1"},
		map[string]any{"name": "fc-add", "config": "off", "enabled": false},
		map[string]any{"name": "fc-add", "config": map[string]any{"label": "s2"}},
	}})
	n.call("POST", "/routes/both/filter-chains", map[string]any{"name": "rc", "filters": []any{map[string]any{"name": "fc-add", "config": "r1"}}})
	n.call("POST", "/routes/route-only/filter-chains", map[string]any{"filters": []any{
		map[string]any{"name": "fc-add", "config": "a"}, map[string]any{"name": "fc-add", "config": "b"},
		map[string]any{"name": "fc-add", "config": "c"}, map[string]any{"name": "fc-add", "config": "d"}}})

	n.waitFor("/route", 200, "plugin,a,b,c,d")
	n.waitFor("/both", 200, "plugin,s1,s2,r1")
	n.waitFor("/svc", 200, "plugin,s1,s2")
	n.waitFor("/none", 200, "plugin")

	// Concurrent keep-alive requests see the same chains.
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for i := 0; i < 25; i++ {
				for path, want := range map[string]string{"/both": "plugin,s1,s2,r1", "/route": "plugin,a,b,c,d", "/svc": "plugin,s1,s2"} {
					if s, o := n.get(client, path); s != 200 || o != want {
						errs <- fmt.Sprintf("%s: %d %q", path, s, o)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	// A filter configured as a plugin on the route joins the route's
	// chain, after the ordinary plugins' access too.
	n.call("POST", "/routes/both/plugins", map[string]any{"name": "fc-add", "config": "p"})
	n.waitFor("/both", 200, "plugin,s1,s2,r1,p")

	// Disabling the route's chain leaves the service's and the route's
	// filter plugin; disabling a filter drops it.
	n.call("PATCH", "/filter-chains/rc", map[string]any{"enabled": false})
	n.waitFor("/both", 200, "plugin,s1,s2,p")
	n.call("PATCH", "/filter-chains/sc", map[string]any{"filters": []any{map[string]any{"name": "fc-add", "config": "only"}}})
	n.waitFor("/svc", 200, "plugin,only")

	// A filter with no plugin on this node fails closed: 500, never
	// proxied without it; the gateway keeps serving the other routes.
	n.call("POST", "/routes/none/filter-chains", map[string]any{"filters": []any{map[string]any{"name": "fc-missing"}}})
	n.waitFor("/none", 500, "")
	n.waitFor("/svc", 200, "plugin,only")

	// Deleting the route deletes its chain.
	n.call("DELETE", "/routes/route-only", nil)
	if s, _ := n.call("GET", "/filter-chains?size=10", nil); s != 200 {
		t.Fatal(s)
	}
	_, all := n.call("GET", "/filter-chains", nil)
	for _, c := range all["data"].([]any) {
		if strings.Contains(fmt.Sprint(c), "\"a\"") {
			t.Fatal("route-only chain survived its route")
		}
	}
}
