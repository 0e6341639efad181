package admin_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// countingBackend counts the backend's read and write transactions.
type countingBackend struct {
	store.Backend
	views, updates atomic.Int64
}

func (b *countingBackend) View(ctx context.Context, fn func(store.Tx) error) error {
	b.views.Add(1)
	return b.Backend.View(ctx, fn)
}

func (b *countingBackend) Update(ctx context.Context, fn func(store.Tx) error) error {
	b.updates.Add(1)
	return b.Backend.Update(ctx, fn)
}

// countingServer is an Admin API on a SQLite file whose backend counts
// transactions.
func countingServer(t *testing.T) (string, *countingBackend) {
	t.Helper()
	b, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kong.db"))
	if err != nil {
		t.Fatal(err)
	}
	cb := &countingBackend{Backend: b}
	catalog, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.NewChecked(cb, store.Options{Plugins: catalog})
	if err != nil {
		t.Fatal(err)
	}
	srv := admin.New(admin.Options{Store: st})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App().Listener(ln) }()
	t.Cleanup(func() {
		_ = srv.App().Shutdown()
		_ = b.Close()
	})
	return "http://" + ln.Addr().String(), cb
}

// rawPost sends a body as it is, JSON-typed.
func rawPost(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// TestNestedCreate: POST under a parent (/consumers/{c}/key-auth,
// /services/{s}/routes) finds the parent by id or endpoint key in the
// create's own write transaction, with no read transaction before it, and
// answers as Kong: the parent's id in the foreign key whatever the body
// says, 404 for an unknown parent (before a bad body's 400), Kong's
// uniqueness and schema errors.
func TestNestedCreate(t *testing.T) {
	base, cb := countingServer(t)
	bob := must(t, call(t, base, "", "POST", "/consumers", map[string]any{"username": "bob"}), 201, "create bob")
	eve := must(t, call(t, base, "", "POST", "/consumers", map[string]any{"username": "eve"}), 201, "create eve")
	svc := must(t, call(t, base, "", "POST", "/services", map[string]any{"name": "svc", "url": "http://example.test"}), 201, "create svc")
	bobID, svcID := bob.body["id"].(string), svc.body["id"].(string)

	cases := []struct {
		name, path, body string
		status           int
		// parentID is the foreign key a created entity holds.
		field, parentID string
		// want is the answer's body, for the refusals.
		want string
	}{
		{name: "key by username", path: "/consumers/bob/key-auth", body: `{"key":"k1"}`, status: 201, field: "consumer", parentID: bobID},
		{name: "key by id", path: "/consumers/" + bobID + "/key-auth", body: `{"key":"k2"}`, status: 201, field: "consumer", parentID: bobID},
		{name: "the URL's consumer wins over the body's", path: "/consumers/bob/key-auth",
			body: `{"key":"k3","consumer":{"id":"` + eve.body["id"].(string) + `"}}`, status: 201, field: "consumer", parentID: bobID},
		{name: "route under a service", path: "/services/svc/routes", body: `{"paths":["/a"]}`, status: 201, field: "service", parentID: svcID},
		{name: "plugin under a consumer", path: "/consumers/bob/plugins", body: `{"name":"rate-limiting","config":{"minute":5}}`,
			status: 201, field: "consumer", parentID: bobID},
		{name: "unknown consumer", path: "/consumers/carol/key-auth", body: `{"key":"k4"}`, status: 404, want: `{"message":"Not found"}`},
		{name: "unknown consumer id", path: "/consumers/5cc8dee4-066d-492e-b2f8-bd77eb0a4c86/key-auth", body: `{}`, status: 404,
			want: `{"message":"Not found"}`},
		{name: "unknown consumer and a bad body", path: "/consumers/carol/key-auth", body: `{"key":`, status: 404,
			want: `{"message":"Not found"}`},
		{name: "a bad body", path: "/consumers/bob/key-auth", body: `{"key":`, status: 400, want: `{"message":"Cannot parse JSON body"}`},
		{name: "a key another consumer holds", path: "/consumers/eve/key-auth", body: `{"key":"k1"}`, status: 409,
			want: `{"code":5,"name":"unique constraint violation","message":"UNIQUE violation detected on '{key=\"k1\"}'","fields":{"key":"k1"}}`},
		{name: "an unknown field", path: "/consumers/bob/key-auth", body: `{"key":"k5","bogus":1}`, status: 400,
			want: `{"code":2,"name":"schema violation","message":"schema violation (bogus: unknown field)","fields":{"bogus":"unknown field"}}`},
	}
	for _, tc := range cases {
		views := cb.views.Load()
		status, raw := rawPost(t, base+tc.path, tc.body)
		if status != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, status, raw, tc.status)
		}
		if tc.want != "" && raw != tc.want {
			t.Errorf("%s: body %s\nwant %s", tc.name, raw, tc.want)
		}
		if tc.status != 201 {
			continue
		}
		if n := cb.views.Load() - views; n != 0 {
			t.Errorf("%s: %d read transactions besides the write", tc.name, n)
		}
		r := must(t, call(t, base, "", "GET", tc.path, nil), 200, tc.name+": list")
		data, _ := r.body["data"].([]any)
		found := false
		for _, d := range data {
			if m, _ := d.(map[string]any); m[tc.field].(map[string]any)["id"] == tc.parentID {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no entity under %s holds %s: %s", tc.name, tc.path, tc.parentID, r.raw)
		}
	}
}
