package cache_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/gatehouse/gatehouse/runtime/cache"
	"github.com/gatehouse/gatehouse/store"
)

// credFixture is a store with consumer "u" and key-auth key "k1", and a
// cache over it.
type credFixture struct {
	st       *store.Store
	c        *cache.Cache
	consumer map[string]any
	cred     map[string]any
}

func newCredFixture(t testing.TB) *credFixture {
	t.Helper()
	ctx := context.Background()
	st := newStore(t)
	c, err := cache.New(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	con, err := st.Insert(ctx, "consumers", map[string]any{"username": "u"})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := st.Insert(ctx, "keyauth_credentials", map[string]any{"key": "k1", "consumer": map[string]any{"id": con["id"]}})
	if err != nil {
		t.Fatal(err)
	}
	return &credFixture{st: st, c: c, consumer: con, cred: cred}
}

// TestSteadyStateNoAlloc: a repeated credential, consumer or credential
// list lookup is answered by the front table without allocating.
func TestSteadyStateNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; allocation counts are checked without -race")
	}
	f := newCredFixture(t)
	ctx := context.Background()
	conID := f.consumer["id"].(string)
	lookups := []struct {
		name string
		fn   func() bool // reports a correct answer
	}{
		{"credential", func() bool {
			cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", "k1")
			return err == nil && cred["id"] == f.cred["id"]
		}},
		{"missing credential", func() bool {
			cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", "nope")
			return err == nil && cred == nil
		}},
		{"consumer by id", func() bool {
			con, err := f.c.Consumer(ctx, conID, false)
			return err == nil && con["username"] == "u"
		}},
		{"consumer by username", func() bool {
			con, err := f.c.Consumer(ctx, "u", true)
			return err == nil && con["id"] == conID
		}},
		{"consumer credentials", func() bool {
			list, err := f.c.ConsumerCredentials(ctx, "keyauth_credentials", conID)
			return err == nil && len(list) == 1 && list[0]["key"] == "k1"
		}},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			if !l.fn() { // loads
				t.Fatal("wrong answer on the first lookup")
			}
			ok := true
			if n := testing.AllocsPerRun(1000, func() { ok = ok && l.fn() }); n != 0 {
				t.Errorf("%v allocations per cached lookup, want 0", n)
			}
			if !ok {
				t.Error("wrong answer from the front table")
			}
		})
	}
}

// TestInvalidationUnderLoad: while goroutines look a key up in a loop, the
// key is changed, then deleted, through the store; a lookup that starts
// after the store call returned never sees the old answer, as Kong's
// invalidation promises.
func TestInvalidationUnderLoad(t *testing.T) {
	f := newCredFixture(t)
	ctx := context.Background()
	credID := f.cred["id"].(string)
	conID := f.consumer["id"].(string)

	// done is the number of store changes that have returned, begun the
	// number started: 1 when k1 became k2, 2 when the consumer was
	// renamed, 3 when the credential was deleted. A reader checks what
	// was done before its lookups began and had not begun when they ended.
	var done, begun atomic.Int32
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				before := done.Load()
				k1, err1 := f.c.Credential(ctx, "keyauth_credentials", "key", "k1")
				k2, err2 := f.c.Credential(ctx, "keyauth_credentials", "key", "k2")
				con, err3 := f.c.Consumer(ctx, conID, false)
				after := begun.Load()
				if err1 != nil || err2 != nil || err3 != nil {
					errs <- fmt.Errorf("lookup failed: %v %v %v", err1, err2, err3)
					return
				}
				switch {
				case before >= 1 && k1 != nil:
					errs <- fmt.Errorf("after change %d: the old key k1 still matches", before)
					return
				case before >= 3 && k2 != nil:
					errs <- fmt.Errorf("after change %d: the deleted key k2 still matches", before)
					return
				case before >= 2 && con["username"] != "renamed":
					errs <- fmt.Errorf("after change %d: the consumer is still %v", before, con["username"])
					return
				case before >= 1 && after < 3 && (k2 == nil || k2["id"] != credID):
					errs <- fmt.Errorf("after change %d: the new key k2 does not match: %v", before, k2)
					return
				case after < 1 && (k1 == nil || k1["id"] != credID || k2 != nil):
					errs <- fmt.Errorf("before any change: k1 %v, k2 %v", k1, k2)
					return
				}
			}
		}()
	}
	// warm lets the readers fill the caches before each change.
	warm := func() {
		for range 200 {
			if _, err := f.c.Credential(ctx, "keyauth_credentials", "key", "k1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	changes := []func() error{
		func() error {
			_, err := f.st.Update(ctx, "keyauth_credentials", credID, map[string]any{"key": "k2"})
			return err
		},
		func() error {
			_, err := f.st.Update(ctx, "consumers", conID, map[string]any{"username": "renamed"})
			return err
		},
		func() error {
			_, err := f.st.Delete(ctx, "keyauth_credentials", credID)
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
	if k2, _ := f.c.Credential(ctx, "keyauth_credentials", "key", "k2"); k2 != nil {
		t.Fatalf("deleted key still found: %v", k2)
	}
}

// TestNegativeEntryDiesWithInsert: a cached miss is answered from the
// front table until a credential with that key is created, and the key
// matches on the next lookup.
func TestNegativeEntryDiesWithInsert(t *testing.T) {
	f := newCredFixture(t)
	ctx := context.Background()
	for range 3 {
		if cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", "new"); err != nil || cred != nil {
			t.Fatalf("missing key: %v %v", cred, err)
		}
	}
	if cred, _ := f.c.Consumer(ctx, "later", true); cred != nil {
		t.Fatalf("missing consumer: %v", cred)
	}
	ins, err := f.st.Insert(ctx, "keyauth_credentials", map[string]any{"key": "new", "consumer": map[string]any{"id": f.consumer["id"]}})
	if err != nil {
		t.Fatal(err)
	}
	if cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", "new"); err != nil || cred == nil || cred["id"] != ins["id"] {
		t.Fatalf("inserted key: %v %v", cred, err)
	}
	if _, err := f.st.Insert(ctx, "consumers", map[string]any{"username": "later"}); err != nil {
		t.Fatal(err)
	}
	if con, _ := f.c.Consumer(ctx, "later", true); con == nil || con["username"] != "later" {
		t.Fatalf("inserted consumer: %v", con)
	}
	list, err := f.c.ConsumerCredentials(ctx, "keyauth_credentials", f.consumer["id"].(string))
	if err != nil || len(list) != 2 {
		t.Fatalf("consumer's credentials after insert: %v %v", list, err)
	}
}

// TestManyKeys: more keys than a set holds still get their own answers
// (collisions evict, never confuse).
func TestManyKeys(t *testing.T) {
	f := newCredFixture(t)
	ctx := context.Background()
	const n = 300
	ids := make([]any, n)
	for i := range n {
		rec, err := f.st.Insert(ctx, "keyauth_credentials", map[string]any{"key": fmt.Sprintf("key-%d", i), "consumer": map[string]any{"id": f.consumer["id"]}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = rec["id"]
	}
	for round := range 3 {
		for i := range n {
			cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", fmt.Sprintf("key-%d", i))
			if err != nil || cred == nil || cred["id"] != ids[i] {
				t.Fatalf("round %d key-%d: %v %v", round, i, cred, err)
			}
		}
	}
}

// BenchmarkCredential is key-auth's per-request lookups on a warm cache:
// the credential by key and its consumer by id.
func BenchmarkCredential(b *testing.B) {
	f := newCredFixture(b)
	ctx := context.Background()
	conID := f.consumer["id"].(string)
	b.ReportAllocs()
	for b.Loop() {
		cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", "k1")
		if err != nil || cred == nil {
			b.Fatal(cred, err)
		}
		if con, err := f.c.Consumer(ctx, conID, false); err != nil || con == nil {
			b.Fatal(con, err)
		}
	}
}

// TestFrontKeepsItsOwnKey: the value a lookup was made with may be a view
// of a buffer the caller reuses (a request's header bytes); rewriting it
// after the lookup must not make the entry match the new text. The new
// text is chosen in the same set of the front table as "k1".
func TestFrontKeepsItsOwnKey(t *testing.T) {
	f := newCredFixture(t)
	ctx := context.Background()
	other := ""
	for i := 0; i < 1<<16 && other == ""; i++ {
		if s := string([]byte{byte(i >> 8), byte(i)}); s != "k1" && cache.FrontSet("key", s) == cache.FrontSet("key", "k1") {
			other = s
		}
	}
	if other == "" {
		t.Fatal("no two-byte key shares k1's set")
	}
	buf := []byte("k1")
	view := unsafe.String(&buf[0], len(buf))
	if cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", view); err != nil || cred == nil {
		t.Fatalf("k1: %v %v", cred, err)
	}
	copy(buf, other) // the caller's next request
	if cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", other); err != nil || cred != nil {
		t.Fatalf("%q matched k1's entry: %v %v", other, cred, err)
	}
	if cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", "k1"); err != nil || cred == nil || cred["id"] != f.cred["id"] {
		t.Fatalf("k1 after the buffer changed: %v %v", cred, err)
	}
}

// BenchmarkCredentialParallel is BenchmarkCredential from every P at once:
// front hits read shared memory without writing it, so they do not
// contend.
func BenchmarkCredentialParallel(b *testing.B) {
	f := newCredFixture(b)
	ctx := context.Background()
	conID := f.consumer["id"].(string)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cred, err := f.c.Credential(ctx, "keyauth_credentials", "key", "k1")
			if err != nil || cred == nil {
				b.Error(cred, err)
				return
			}
			if con, err := f.c.Consumer(ctx, conID, false); err != nil || con == nil {
				b.Error(con, err)
				return
			}
		}
	})
}
