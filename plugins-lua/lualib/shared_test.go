package lualib

import (
	"fmt"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func TestSharedDict(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	dicts := NewDicts(map[string]int64{"cache": 1 << 20, "tiny": 300})
	L := newState(t, Options{Dicts: dicts, Now: clock.now})
	step := func(src, want string) {
		t.Helper()
		if got := eval(t, L, src); got != want {
			t.Errorf("%s: got %q, want %q", src, got, want)
		}
	}
	step(`return ngx.shared.missing`, "nil")
	step(`local d = ngx.shared.cache local ok, err, forcible = d:set("s", "v") return ok, err, forcible, d:get("s")`, "true|nil|false|v")
	step(`local d = ngx.shared.cache d:set("n", 1.5) d:set("b", false) return d:get("n"), d:get("b"), type(d:get("b"))`, "1.5|false|boolean")
	step(`return ngx.shared.cache:set("t", {})`, "nil|bad value type|false")
	step(`return ngx.shared.cache:get(nil)`, "nil|nil key")
	step(`return ngx.shared.cache:get("")`, "nil|empty key")
	step(`local d = ngx.shared.cache d:set("f", "x", 0, 7) return d:get("f")`, "x|7")
	step(`return ngx.shared.cache:add("s", "other")`, "false|exists|false")
	step(`local ok, err, f = ngx.shared.cache:add("new", "v") return ok, err, f, ngx.shared.cache:get("new")`, "true|nil|false|v")
	step(`return ngx.shared.cache:safe_add("new", "v")`, "false|exists|false")
	step(`return ngx.shared.cache:replace("absent", 1)`, "false|not found|false")
	step(`local ok, err, f = ngx.shared.cache:replace("s", "w") return ok, err, f, ngx.shared.cache:get("s")`, "true|nil|false|w")
	step(`return ngx.shared.cache:incr("cnt", 1)`, "nil|not found|false")
	step(`return ngx.shared.cache:incr("cnt", 1, 10)`, "11|nil|false")
	step(`return ngx.shared.cache:incr("cnt", -2)`, "9")
	step(`return ngx.shared.cache:incr("s", 1)`, "nil|not a number|false")
	step(`return ngx.shared.cache:delete("s"), ngx.shared.cache:get("s")`, "true|nil")
	// TTL with the fake clock.
	step(`return ngx.shared.cache:set("e", "v", 10)`, "true|nil|false")
	step(`return ngx.shared.cache:ttl("e")`, "10")
	step(`return ngx.shared.cache:ttl("n")`, "0")
	step(`return ngx.shared.cache:ttl("absent")`, "nil|not found")
	clock.advance(4 * time.Second)
	step(`return ngx.shared.cache:ttl("e"), ngx.shared.cache:get("e")`, "6|v")
	clock.advance(6 * time.Second)
	step(`return ngx.shared.cache:get("e")`, "nil")
	step(`return ngx.shared.cache:get_stale("e")`, "v|nil|true")
	step(`return ngx.shared.cache:add("e", "fresh")`, "true|nil|false")
	step(`return ngx.shared.cache:incr("ic", 1, 0, 5)`, "1|nil|false")
	clock.advance(5 * time.Second)
	step(`return ngx.shared.cache:get("ic")`, "nil")
	step(`return ngx.shared.cache:expire("n", 3), ngx.shared.cache:ttl("n")`, "true|3")
	step(`return ngx.shared.cache:expire("absent", 3)`, "nil|not found")
	step(`return table.concat(ngx.shared.cache:get_keys(0), ",")`, "b,cnt,e,f,n,new")
	step(`return #ngx.shared.cache:get_keys(2)`, "2")
	step(`ngx.shared.cache:flush_all() return ngx.shared.cache:get("b"), #ngx.shared.cache:get_keys()`, "nil|0")
	step(`return ngx.shared.cache:flush_expired()`, "7")
	// Called with '.' instead of ':'.
	if msg := evalErr(t, L, `ngx.shared.cache.get("x")`); msg != `<string>:1: bad "zone" argument` {
		t.Errorf("dot call: %q", msg)
	}
	// Capacity: the tiny dict evicts with set and refuses with safe_set.
	step(`local d = ngx.shared.tiny return d:set("a", string.rep("x", 100))`, "true|nil|false")
	step(`local d = ngx.shared.tiny return d:safe_set("b", string.rep("x", 100))`, "false|no memory|false")
	step(`local d = ngx.shared.tiny local ok, err, forcible = d:set("b", string.rep("x", 100)) return ok, err, forcible, d:get("a")`, "true|nil|true|nil")
	step(`return ngx.shared.tiny:set("huge", string.rep("x", 1000))`, "false|no memory|false")
}

// TestSharedDictAcrossStates checks that dictionaries are shared by
// states running on different goroutines (run with -race).
func TestSharedDictAcrossStates(t *testing.T) {
	dicts := NewDicts(map[string]int64{"counters": 1 << 20})
	const workers, iters = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			L := lua.NewState()
			defer L.Close()
			ngx := L.NewTable()
			OpenNgx(L, ngx, Options{Dicts: dicts})
			L.SetGlobal("ngx", ngx)
			src := fmt.Sprintf(`for i = 1, %d do
				ngx.shared.counters:incr("hits", 1, 0)
				ngx.shared.counters:set("w%d", i)
				ngx.shared.counters:get("hits")
			end`, iters, w)
			if err := L.DoString(src); err != nil {
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	L := newState(t, Options{Dicts: dicts})
	if got := eval(t, L, `return ngx.shared.counters:get("hits"), ngx.shared.counters:get("w3")`); got != fmt.Sprintf("%d|%d", workers*iters, iters) {
		t.Fatalf("got %s", got)
	}
}

func TestDictGoAccess(t *testing.T) {
	dicts := NewDicts(map[string]int64{"d": 0})
	d := dicts.Dict("d")
	now := time.Unix(100, 0)
	if err := d.Set("k", "v", time.Second, now); err != nil {
		t.Fatal(err)
	}
	if v, ok := d.Get("k", now); !ok || v != "v" {
		t.Fatalf("get: %v %v", v, ok)
	}
	if _, ok := d.Get("k", now.Add(time.Second)); ok {
		t.Fatal("not expired")
	}
	if n, err := d.Incr("n", 2, 5, 0, now); err != nil || n != 7 {
		t.Fatalf("incr: %v %v", n, err)
	}
	if err := d.Set("bad", []int{1}, 0, now); err == nil {
		t.Fatal("bad value accepted")
	}
	// Lua sees what Go stored.
	L := newState(t, Options{Dicts: dicts, Now: func() time.Time { return now }})
	if got := eval(t, L, `return ngx.shared.d:get("n")`); got != "7" {
		t.Fatalf("lua got %q", got)
	}
	d.Delete("n")
	if _, ok := d.Get("n", now); ok {
		t.Fatal("not deleted")
	}
	if dicts.Names()[0] != "d" || d.Capacity() != 1<<20 || d.Name() != "d" {
		t.Fatal("names/capacity")
	}
}
