package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/cache"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

func newStore(t testing.TB) *store.Store {
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return store.New(b, store.Options{Entities: []*store.Entity{keyauth.Credentials()}})
}

// TestCredentialLifecycle: a miss is cached as a miss until the entity
// changes; updates and deletes are seen on the next lookup.
func TestCredentialLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	c, err := cache.New(st)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if cred, err := c.Credential(ctx, "keyauth_credentials", "key", "k1"); err != nil || cred != nil {
		t.Fatalf("missing key: %v %v", cred, err)
	}
	con, _ := st.Insert(ctx, "consumers", map[string]any{"username": "u"})
	key, err := st.Insert(ctx, "keyauth_credentials", map[string]any{"key": "k1", "consumer": map[string]any{"id": con["id"]}})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := c.Credential(ctx, "keyauth_credentials", "key", "k1")
	if err != nil || cred == nil || cred["id"] != key["id"] {
		t.Fatalf("after insert: %v %v", cred, err)
	}
	if _, err := st.Update(ctx, "keyauth_credentials", key["id"].(string), map[string]any{"key": "k2"}); err != nil {
		t.Fatal(err)
	}
	if cred, _ := c.Credential(ctx, "keyauth_credentials", "key", "k1"); cred != nil {
		t.Fatalf("old key still found: %v", cred)
	}
	if cred, _ := c.Credential(ctx, "keyauth_credentials", "key", "k2"); cred == nil {
		t.Fatal("new key not found")
	}
	byName, err := c.Consumer(ctx, "u", true)
	if err != nil || byName["id"] != con["id"] {
		t.Fatalf("consumer by username: %v %v", byName, err)
	}
	byID, _ := c.Consumer(ctx, con["id"].(string), false)
	if byID["username"] != "u" {
		t.Fatalf("consumer by id: %v", byID)
	}
	if _, err := st.Delete(ctx, "consumers", "u"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Consumer(ctx, con["id"].(string), false); got != nil {
		t.Fatalf("deleted consumer still cached: %v", got)
	}
	if cred, _ := c.Credential(ctx, "keyauth_credentials", "key", "k2"); cred != nil {
		t.Fatal("cascaded credential still cached")
	}
}

// TestGetOrLoadOnce: concurrent callers share one load.
func TestGetOrLoadOnce(t *testing.T) {
	c, err := cache.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	loads := 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v, err := c.GetOrLoad("k", 0, func() (any, error) {
				mu.Lock()
				loads++
				mu.Unlock()
				return "v", nil
			})
			if err != nil || v != "v" {
				t.Errorf("got %v %v", v, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if loads != 1 {
		t.Fatalf("loaded %d times", loads)
	}
	if v, ok := c.Get("k"); !ok || v != "v" {
		t.Fatalf("Get after load: %v %v", v, ok)
	}
	c.Invalidate("k")
	if _, ok := c.Get("k"); ok {
		t.Fatal("invalidated key still present")
	}
}

// TestLookupLeases: one caller of a missing key loads it, the others wait
// for its Fill; an Abandon hands the waiters its error and stores nothing.
func TestLookupLeases(t *testing.T) {
	c, err := cache.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, found, load, err := c.Lookup(ctx, "k"); found || !load || err != nil {
		t.Fatalf("first lookup: found %v load %v err %v", found, load, err)
	}
	got := make(chan string, 1)
	go func() {
		v, found, load, err := c.Lookup(ctx, "k")
		got <- fmt.Sprintf("%v %v %v %v", v, found, load, err)
	}()
	time.Sleep(20 * time.Millisecond)
	c.Fill("k", "v", time.Minute)
	if g := <-got; g != "v true false <nil>" {
		t.Fatalf("waiter got %s", g)
	}
	if v, found, load, _ := c.Lookup(ctx, "k"); v != "v" || !found || load {
		t.Fatalf("after fill: %v %v %v", v, found, load)
	}

	if _, _, load, _ := c.Lookup(ctx, "e"); !load {
		t.Fatal("no lease for e")
	}
	go func() {
		_, _, _, err := c.Lookup(ctx, "e")
		got <- fmt.Sprint(err)
	}()
	time.Sleep(20 * time.Millisecond)
	c.Abandon("e", errors.New("db down"))
	if g := <-got; g != "db down" {
		t.Fatalf("waiter got %s", g)
	}
	if _, found, load, _ := c.Lookup(ctx, "e"); found || !load {
		t.Fatal("an abandoned key was stored")
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, _, _, err := c.Lookup(short, "e"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past the deadline: %v", err)
	}
}

// TestHoldsTensOfThousands: 20,000 loaded keys (10,000 consumers and a
// credential each) all stay in the cache; with ristretto's internal cost
// counted, only a few hundred did.
func TestHoldsTensOfThousands(t *testing.T) {
	c, err := cache.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 20000
	for i := 0; i < n; i++ {
		if _, err := c.GetOrLoad(fmt.Sprintf("k%d", i), 0, func() (any, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			c.Wait() // let ristretto apply its buffered sets, as traffic spread over time does
		}
	}
	c.Wait()
	held := 0
	for i := 0; i < n; i++ {
		if v, ok := c.Get(fmt.Sprintf("k%d", i)); ok && v == i {
			held++
		}
	}
	if held < n*95/100 {
		t.Fatalf("%d of %d keys held, want at least 95%%", held, n)
	}
}
