// Package gokong_test drives the Admin API the way Kong's Go client
// (github.com/kong/go-kong, used by decK and the Kong Ingress Controller)
// does: JSON bodies, entities created by id with PUT, updated with PATCH,
// all on one keep-alive connection; then it checks that the proxy serves
// exactly what the database holds.
package gokong_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/store"
)

// backends are the databases every test here runs on.
var backends = []struct {
	name     string
	settings func(t *testing.T) map[string]string
}{
	{"sqlite", func(t *testing.T) map[string]string { return nil }},
	{"postgres", testpg.Settings},
}

// startNode starts a real node on loopback ports.
func startNode(t *testing.T, settings map[string]string) *app.Node {
	t.Helper()
	return testnode.Start(t, settings)
}

// startUpstream serves on 127.0.0.1 and answers with the request path in
// X-Upstream-Path and the upstream's name in the body.
func startUpstream(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Path", r.URL.Path)
		w.Header().Set("X-Upstream-Added", r.Header.Get("X-Added"))
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// oneConn returns an HTTP client that keeps exactly one connection to each
// host and reuses it for every request, as a sync tool does, and a counter
// of the connections it dialed.
func oneConn() (*http.Client, *int) {
	dials := new(int)
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			*dials++
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, dials
}

// adminClient speaks to the Admin API as go-kong does.
type adminClient struct {
	t    testing.TB
	base string
	hc   *http.Client
}

type reply struct {
	status int
	raw    []byte
	body   map[string]any
}

func (c *adminClient) send(method, path, contentType string, body []byte) *reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "go-kong-conformance")
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &reply{status: res.StatusCode, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return out
}

// json sends v as a JSON body (go-kong's NewRequest) and fails unless the
// status is want.
func (c *adminClient) json(method, path string, v any, want int) map[string]any {
	c.t.Helper()
	var b []byte
	if v != nil {
		var err error
		if b, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	r := c.send(method, path, "application/json", b)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r.body
}

// form sends "k=v" pairs as a form body, as curl -d does.
func (c *adminClient) form(method, path string, want int, pairs ...string) map[string]any {
	c.t.Helper()
	var parts []string
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		parts = append(parts, queryEscape(k)+"="+queryEscape(v))
	}
	r := c.send(method, path, "application/x-www-form-urlencoded", []byte(strings.Join(parts, "&")))
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r.body
}

func queryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "=", "%3D", "+", "%2B", " ", "+", "#", "%23")
	return r.Replace(s)
}

// proxyGet sends a request to the proxy on a fresh client.
func proxyGet(t *testing.T, base, path string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("proxy GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// listAll reads every entity of a type from the store (the database).
func listAll(t testing.TB, st *store.Store, entity string) []map[string]any {
	t.Helper()
	var out []map[string]any
	offset := ""
	for {
		page, err := st.List(context.Background(), entity, store.ListQuery{Size: store.MaxPageSize, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Data...)
		if page.Offset == "" {
			return out
		}
		offset = page.Offset
	}
}

// canon renders v as canonical JSON, for comparisons.
func canon(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// compareSnapshot rebuilds the node's snapshot and checks it against the
// database entity by entity: the same services (with the same content), the
// same routes in the router, the same enabled plugins, the same upstreams.
// It returns the differences found.
func compareSnapshot(t testing.TB, n *app.Node) []string {
	t.Helper()
	if err := n.Snapshots().Rebuild(context.Background()); err != nil {
		return []string{"rebuild failed: " + err.Error()}
	}
	snap := n.Snapshots().Current()
	st := n.Store()
	var diffs []string
	diff := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }

	dbServices := map[string]map[string]any{}
	for _, s := range listAll(t, st, "services") {
		dbServices[s["id"].(string)] = s
	}
	for id, s := range dbServices {
		got, ok := snap.Services[id]
		if !ok {
			diff("service %s (%v) is in the database, not in the snapshot", id, s["name"])
			continue
		}
		if canon(got.Raw) != canon(s) {
			diff("service %s: snapshot %s, database %s", id, canon(got.Raw), canon(s))
		}
	}
	for id := range snap.Services {
		if _, ok := dbServices[id]; !ok {
			diff("service %q is in the snapshot, not in the database", id)
		}
	}

	dbRoutes := map[string]map[string]any{}
	for _, r := range listAll(t, st, "routes") {
		dbRoutes[r["id"].(string)] = r
	}
	inRouter := map[string]bool{}
	for _, r := range snap.Router.Routes() {
		inRouter[r.ID] = true
		db, ok := dbRoutes[r.ID]
		if !ok {
			diff("route %q is in the router, not in the database", r.ID)
			continue
		}
		if canon(r.Raw) != canon(db) {
			diff("route %s: router %s, database %s", r.ID, canon(r.Raw), canon(db))
		}
	}
	for id, r := range dbRoutes {
		if !inRouter[id] {
			diff("route %s (%v) is in the database, not in the router", id, r["name"])
		}
	}

	dbPlugins := map[string]map[string]any{}
	for _, p := range listAll(t, st, "plugins") {
		if on, _ := p["enabled"].(bool); on {
			dbPlugins[p["id"].(string)] = p
		}
	}
	inChain := map[string]bool{}
	for _, in := range snap.Plugins.Instances() {
		inChain[in.ID] = true
		db, ok := dbPlugins[in.ID]
		if !ok {
			diff("plugin %q is in the snapshot, not enabled in the database", in.ID)
			continue
		}
		if in.Name != db["name"] || in.RouteID != fk(db, "route") || in.ServiceID != fk(db, "service") || in.ConsumerID != fk(db, "consumer") {
			diff("plugin %s: snapshot %s route=%s service=%s consumer=%s, database %s", in.ID, in.Name, in.RouteID, in.ServiceID, in.ConsumerID, canon(db))
		}
	}
	for id, p := range dbPlugins {
		if !inChain[id] {
			diff("plugin %s (%v) is in the database, not in the snapshot", id, p["name"])
		}
	}

	var dbUpstreams, snapUpstreams []string
	for _, u := range listAll(t, st, "upstreams") {
		dbUpstreams = append(dbUpstreams, u["name"].(string))
	}
	for name := range snap.Upstreams {
		snapUpstreams = append(snapUpstreams, name)
	}
	sort.Strings(dbUpstreams)
	sort.Strings(snapUpstreams)
	if !reflect.DeepEqual(dbUpstreams, snapUpstreams) && !(len(dbUpstreams) == 0 && len(snapUpstreams) == 0) {
		diff("upstreams: snapshot %v, database %v", snapUpstreams, dbUpstreams)
	}
	sort.Strings(diffs)
	return diffs
}

func fk(m map[string]any, field string) string {
	f, _ := m[field].(map[string]any)
	id, _ := f["id"].(string)
	return id
}
