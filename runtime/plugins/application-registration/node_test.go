package appreg_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/cache"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
)

// nodeKong runs the plugin as the proxy does: kong.credentials,
// kong.cache and the client's load_consumer are the node's runtime/cache
// over a real store (runtime/app wires the one cache as all three), so
// the store's change events reach the plugin and a warm request reads
// no row.
type nodeKong struct {
	*plugintest.Kong
	client hostabi.Client
	node   *cache.Cache
}

func (k *nodeKong) Credentials() hostabi.Credentials { return k.node }
func (k *nodeKong) Cache() hostabi.Cache             { return k.node }
func (k *nodeKong) Client() hostabi.Client           { return k.client }

// consumersFrom is a request's client whose load_consumer is load (the
// node cache's Consumer).
type consumersFrom struct {
	hostabi.Client
	load func(ctx context.Context, key string, byUsername bool) (hostabi.Entity, error)
}

func (c consumersFrom) LoadConsumer(ctx context.Context, key string, byUsername bool) (hostabi.Entity, error) {
	return c.load(ctx, key, byUsername)
}

// newNodeKong returns a node Kong over st for the fixture's approved
// token on svc; the cache is closed with the test.
func newNodeKong(t testing.TB, st *store.Store) *nodeKong {
	t.Helper()
	node, err := cache.New(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Close)
	req := plugintest.NewRequest("GET", "/api/x").WithService(hostabi.Entity{"id": svcID}).
		WithHeader("Authorization", "Bearer app-cid-token")
	req.Scheme = "https"
	req.Context = context.Background()
	k := plugintest.NewEnv().NewKong(req)
	return &nodeKong{Kong: k, node: node, client: consumersFrom{Client: k.Client(), load: node.Consumer}}
}

// exitStatus runs one request's access phase through chain.Call, as the
// node runs a planned instance, and returns the status the plugin ended
// the request with, or 0 when it would be proxied.
func (k *nodeKong) exitStatus(in *chain.Instance) (int, error) {
	k.Reset()
	k.SetPhase(hostabi.PhaseAccess)
	if f := chain.Call(in, hostabi.PhaseAccess, k); f != nil {
		return 0, f.Err
	}
	if !k.Response().Exited() {
		return 0, nil // (Result, which copies the response, is for refusals)
	}
	return k.Result().Status, nil
}

func nodeInstance(t testing.TB, cfg map[string]any) *chain.Instance {
	t.Helper()
	in := &chain.Instance{Name: "application-registration", Plugin: newPlugin(t, cfg)}
	in.Bind()
	return in
}

func setStatus(t testing.TB, st *store.Store, entity, id string, fields map[string]any) {
	t.Helper()
	if _, err := st.Update(store.WithTypedInput(context.Background()), entity, id, fields); err != nil {
		t.Fatal(err)
	}
}

// TestNodeCacheFollowsChanges: through the node's cache, every change
// that decides the answer is seen by the next request — the store's
// change event invalidates the cached registration, application and
// token at once (no TTL to wait for).
func TestNodeCacheFollowsChanges(t *testing.T) {
	_, st := fixture(t)
	k := newNodeKong(t, st)
	in := nodeInstance(t, legacy)
	steps := []struct {
		name   string
		change func()
		want   int // 0: proxied
	}{
		{"pending", func() {}, 403},
		{"approved", func() { setStatus(t, st, store.ApplicationInstanceEntity, instID, map[string]any{"status": 0}) }, 0},
		{"rejected", func() { setStatus(t, st, store.ApplicationInstanceEntity, instID, map[string]any{"status": 2}) }, 403},
		{"approved again", func() { setStatus(t, st, store.ApplicationInstanceEntity, instID, map[string]any{"status": 0}) }, 0},
		{"suspended (developer not approved)", func() {
			setStatus(t, st, store.ApplicationInstanceEntity, instID, map[string]any{"suspended": true})
		}, 403},
		{"unsuspended", func() {
			setStatus(t, st, store.ApplicationInstanceEntity, instID, map[string]any{"suspended": false})
		}, 0},
		{"registration deleted", func() {
			if _, err := st.Delete(context.Background(), store.ApplicationInstanceEntity, instID); err != nil {
				t.Fatal(err)
			}
		}, 403},
		{"registered again, approved", func() {
			if _, err := st.Insert(store.WithTypedInput(context.Background()), store.ApplicationInstanceEntity, map[string]any{
				"id": instID, "application": map[string]any{"id": appID}, "service": map[string]any{"id": svcID}, "status": 0}); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"application deleted", func() {
			if _, err := st.Delete(context.Background(), store.ApplicationEntity, appID); err != nil {
				t.Fatal(err)
			}
		}, 401},
	}
	for _, s := range steps {
		s.change()
		// Twice: the first request fills the cache, the second is served
		// from it.
		for i := range 2 {
			got, err := k.exitStatus(in)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got != s.want {
				t.Fatalf("%s (request %d): status %d (%s), want %d", s.name, i+1, got, k.Result().ExitBody, s.want)
			}
		}
	}
}

// TestNodeAccessAllocs bounds an approved request's allocations once the
// cache is warm (the oauth2 token check is oauth2's own cost).
func TestNodeAccessAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; allocation counts are checked without -race")
	}
	_, st := fixture(t)
	setStatus(t, st, store.ApplicationInstanceEntity, instID, map[string]any{"status": 0})
	k := newNodeKong(t, st)
	in := nodeInstance(t, legacy)
	if got, err := k.exitStatus(in); err != nil || got != 0 {
		t.Fatalf("warm-up: %v %v", err, k.Result())
	}
	ok := true
	allocs := testing.AllocsPerRun(1000, func() {
		got, err := k.exitStatus(in)
		ok = ok && err == nil && got == 0
	})
	if !ok {
		t.Fatal("an approved request was refused")
	}
	if allocs > maxNodeAllocs {
		t.Fatalf("%v allocations per request, want at most %d", allocs, maxNodeAllocs)
	}
}

// BenchmarkAccessNode: BenchmarkAccess's request with the node's cache
// behind the plugin, as the proxy runs it.
func BenchmarkAccessNode(b *testing.B) {
	_, st := fixture(b)
	setStatus(b, st, store.ApplicationInstanceEntity, instID, map[string]any{"status": 0})
	k := newNodeKong(b, st)
	in := nodeInstance(b, legacy)
	b.ReportAllocs()
	for b.Loop() {
		if got, err := k.exitStatus(in); err != nil || got != 0 {
			b.Fatalf("refused %d: %v %s", got, err, k.Result().ExitBody)
		}
	}
}

// maxNodeAllocs is an approved request's allocation budget with a warm
// cache: the three the embedded oauth2 check makes (its credential
// cache key, twice, and the Authorization header's split); the plugin's
// own lookups allocate nothing.
const maxNodeAllocs = 3
