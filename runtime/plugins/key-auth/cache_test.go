package keyauth_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/cache"
	"github.com/gatehouse/gatehouse/runtime/chain"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// nodeKong is a plugintest Kong whose credentials and consumers come from
// the node's cache over a real store, as the proxy's do.
type nodeKong struct {
	*plugintest.Kong
	c      *cache.Cache
	client nodeClient
}

func (k *nodeKong) Credentials() hostabi.Credentials { return k.c }
func (k *nodeKong) Client() hostabi.Client           { return &k.client }

// nodeClient is the Kong's client with load_consumer served by the cache.
type nodeClient struct {
	hostabi.Client
	c *cache.Cache
}

func (c *nodeClient) LoadConsumer(ctx context.Context, key string, byUsername bool) (hostabi.Entity, error) {
	return c.c.Consumer(ctx, key, byUsername)
}

func newNodeKong(c *cache.Cache, req *plugintest.Request) *nodeKong {
	req.Context = context.Background() // the node's request context exists already
	k := plugintest.NewEnv().NewKong(req)
	return &nodeKong{Kong: k, c: c, client: nodeClient{Client: k.Client(), c: c}}
}

// access runs the plugin's access phase on k through chain.Call with one
// Instance, as the node runs a planned instance.
func (k *nodeKong) access(in *chain.Instance) error {
	k.Reset()
	k.SetPhase(hostabi.PhaseAccess)
	if f := chain.Call(in, hostabi.PhaseAccess, k); f != nil {
		return f.Err
	}
	return nil
}

// node is a store with consumer bob (key "kong") and the cache over it.
type node struct {
	st    *store.Store
	c     *cache.Cache
	bobID string
	key   map[string]any
}

func newNode(t testing.TB) *node {
	t.Helper()
	ctx := context.Background()
	b, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	st := store.New(b, store.Options{Entities: []*store.Entity{keyauth.Credentials()}})
	c, err := cache.New(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	bob, err := st.Insert(ctx, "consumers", map[string]any{"username": "bob", "custom_id": "bob-42"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := st.Insert(ctx, "keyauth_credentials", map[string]any{"key": "kong", "consumer": map[string]any{"id": bob["id"]}})
	if err != nil {
		t.Fatal(err)
	}
	return &node{st: st, c: c, bobID: bob["id"].(string), key: key}
}

func instance(t testing.TB, cfg map[string]any) *chain.Instance {
	t.Helper()
	p, err := keyauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := &chain.Instance{Name: keyauth.Name, Plugin: p}
	in.Bind()
	return in
}

// TestAccessNoAlloc: a request with a known key, in a header or the
// query, authenticates without allocating once the cache is warm; so does
// the rejection of an unknown key's repeated attempts up to the answer
// (the negative entry is cached).
func TestAccessNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; allocation counts are checked without -race")
	}
	n := newNode(t)
	cases := []struct {
		name string
		cfg  map[string]any
		req  *plugintest.Request
	}{
		{"key in header", map[string]any{"key_names": []any{"apikey"}}, plugintest.NewRequest("GET", "/orders").WithHeader("apikey", "kong")},
		{"second key name, underscore header", map[string]any{"key_names": []any{"x", "api_key"}}, plugintest.NewRequest("GET", "/").WithHeader("api-key", "kong")},
		{"key in query", map[string]any{"key_names": []any{"apikey"}}, plugintest.NewRequest("GET", "/orders?a=1&apikey=kong")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := instance(t, tc.cfg)
			k := newNodeKong(n.c, tc.req)
			if err := k.access(in); err != nil {
				t.Fatal(err)
			}
			ok := true
			allocs := testing.AllocsPerRun(1000, func() {
				err := k.access(in)
				ok = ok && err == nil && !k.Response().Exited() && k.Client().Consumer()["id"] == n.bobID
			})
			if allocs != 0 {
				t.Errorf("%v allocations per request, want 0", allocs)
			}
			if !ok {
				t.Error("a request did not authenticate as bob")
			}
		})
	}
}

// TestKeyChangesUnderLoad: requests run concurrently while the key is
// changed, then deleted, through the store (as the Admin API does); a
// request that starts after the change returned is answered by the new
// state: the old key is refused at once, the new one accepted, a deleted
// one refused.
func TestKeyChangesUnderLoad(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	in := instance(t, map[string]any{"key_names": []any{"apikey"}})
	keyID := n.key["id"].(string)

	// done counts the changes that returned, begun those started: 1 key
	// "kong" became "new", 2 the credential was deleted.
	var done, begun atomic.Int32
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	authenticated := func(k *nodeKong) (bool, error) {
		if err := k.access(in); err != nil {
			return false, err
		}
		return !k.Response().Exited(), nil
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			oldK := newNodeKong(n.c, plugintest.NewRequest("GET", "/").WithHeader("apikey", "kong"))
			newK := newNodeKong(n.c, plugintest.NewRequest("GET", "/").WithHeader("apikey", "new"))
			for !stop.Load() {
				before := done.Load()
				oldOK, err1 := authenticated(oldK)
				newOK, err2 := authenticated(newK)
				after := begun.Load()
				if err1 != nil || err2 != nil {
					errs <- fmt.Errorf("access failed: %v %v", err1, err2)
					return
				}
				switch {
				case before >= 1 && oldOK:
					errs <- fmt.Errorf("after change %d: the old key still authenticates", before)
					return
				case before >= 2 && newOK:
					errs <- fmt.Errorf("after change %d: the deleted key still authenticates", before)
					return
				case before == 1 && after < 2 && !newOK:
					errs <- fmt.Errorf("after change %d: the new key is refused", before)
					return
				case after < 1 && (!oldOK || newOK):
					errs <- fmt.Errorf("before any change: old key %v, new key %v", oldOK, newOK)
					return
				}
			}
		}()
	}
	k := newNodeKong(n.c, plugintest.NewRequest("GET", "/").WithHeader("apikey", "kong"))
	warm := func() {
		for range 100 {
			if err := k.access(in); err != nil {
				t.Fatal(err)
			}
		}
	}
	changes := []func() error{
		func() error {
			_, err := n.st.Update(ctx, "keyauth_credentials", keyID, map[string]any{"key": "new"})
			return err
		},
		func() error {
			_, err := n.st.Delete(ctx, "keyauth_credentials", keyID)
			return err
		},
	}
	for i, change := range changes {
		warm()
		begun.Store(int32(i + 1))
		if err := change(); err != nil {
			t.Fatal(err)
		}
		done.Store(int32(i + 1))
	}
	warm()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ok, _ := authenticated(newNodeKong(n.c, plugintest.NewRequest("GET", "/").WithHeader("apikey", "new"))); ok {
		t.Fatal("the deleted key authenticates")
	}
}

// TestConsumerChangeSeen: a consumer renamed through the store is sent
// upstream under its new username on the next request.
func TestConsumerChangeSeen(t *testing.T) {
	n := newNode(t)
	in := instance(t, map[string]any{"key_names": []any{"apikey"}})
	k := newNodeKong(n.c, plugintest.NewRequest("GET", "/").WithHeader("apikey", "kong"))
	for range 3 {
		if err := k.access(in); err != nil {
			t.Fatal(err)
		}
	}
	if got := k.Result().UpstreamHeader("X-Consumer-Username"); got != "bob" {
		t.Fatalf("X-Consumer-Username = %q", got)
	}
	if _, err := n.st.Update(context.Background(), "consumers", n.bobID, map[string]any{"username": "robert"}); err != nil {
		t.Fatal(err)
	}
	if err := k.access(in); err != nil {
		t.Fatal(err)
	}
	if got := k.Result().UpstreamHeader("X-Consumer-Username"); got != "robert" {
		t.Fatalf("after the rename, X-Consumer-Username = %q", got)
	}
}

// BenchmarkAccessNode is key-auth's access phase as the node runs it:
// one Instance, credentials and consumers from the node's cache.
func BenchmarkAccessNode(b *testing.B) {
	n := newNode(b)
	in := instance(b, map[string]any{"key_names": []any{"apikey"}, "key_in_query": true, "run_on_preflight": true})
	k := newNodeKong(n.c, plugintest.NewRequest("GET", "/orders").WithHeader("apikey", "kong").WithHeader("accept", "*/*"))
	b.ReportAllocs()
	for b.Loop() {
		if err := k.access(in); err != nil {
			b.Fatal(err)
		}
	}
	if k.Client().Consumer()["id"] != n.bobID {
		b.Fatal("not authenticated")
	}
}
