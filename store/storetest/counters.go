package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// runCounters checks store.Counters on one backend, and across two
// backends over the same database (two nodes of a cluster).
func runCounters(t *testing.T, open Opener) {
	ctx := context.Background()
	counters := func(t *testing.T, reopen bool) store.Counters {
		b := open(t, reopen)
		t.Cleanup(func() { b.Close() })
		c, err := store.New(b, store.Options{Plugins: TestPlugins{}}).Counters()
		if err != nil {
			t.Fatalf("backend %s keeps no counters: %v", b.Name(), err)
		}
		return c
	}

	t.Run("CountersAddAndRead", func(t *testing.T) {
		c := counters(t, false)
		keys := []store.Counter{{Key: "b", ExpiresAt: 100}, {Key: "a", ExpiresAt: 100}}
		got, err := c.AddCounters(ctx, keys, []int64{2, 5})
		if err != nil || got[0] != 2 || got[1] != 5 {
			t.Fatalf("first add: %v %v", got, err)
		}
		got, err = c.AddCounters(ctx, keys, []int64{3, -1})
		if err != nil || got[0] != 5 || got[1] != 4 {
			t.Fatalf("second add: %v %v", got, err)
		}
		read, err := c.ReadCounters(ctx, []string{"a", "missing", "b"})
		if err != nil || fmt.Sprint(read) != "[4 0 5]" {
			t.Fatalf("read: %v %v", read, err)
		}
		if _, err := c.AddCounters(ctx, keys, []int64{1}); err == nil {
			t.Fatal("mismatched deltas accepted")
		}
	})

	t.Run("CountersTakeStopsAtTheLimit", func(t *testing.T) {
		c := counters(t, false)
		keys := []store.Counter{{Key: "sec", ExpiresAt: 10}, {Key: "min", ExpiresAt: 60}}
		limits := []int64{100, 3}
		for i := int64(0); i < 3; i++ {
			before, stop, err := c.TakeCounters(ctx, keys, limits)
			if err != nil || stop != -1 || before[0] != i || before[1] != i {
				t.Fatalf("take %d: before=%v stop=%d err=%v", i, before, stop, err)
			}
		}
		before, stop, err := c.TakeCounters(ctx, keys, limits)
		if err != nil || stop != 1 || before[1] != 3 {
			t.Fatalf("take over the limit: before=%v stop=%d err=%v", before, stop, err)
		}
		read, _ := c.ReadCounters(ctx, []string{"sec", "min"})
		if fmt.Sprint(read) != "[3 3]" {
			t.Fatalf("a refused take counted: %v", read)
		}
	})

	t.Run("CountersTakeExactAcrossNodes", func(t *testing.T) {
		nodes := []store.Counters{counters(t, false), counters(t, true)}
		const limit, workers, each = 25, 8, 10
		keys := []store.Counter{{Key: "w:second", ExpiresAt: 10}, {Key: "w:minute", ExpiresAt: 60}}
		var ok atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(c store.Counters) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					_, stop, err := c.TakeCounters(ctx, keys, []int64{1000, limit})
					if err != nil {
						errs <- err
						return
					}
					if stop < 0 {
						ok.Add(1)
					}
				}
			}(nodes[w%2])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if ok.Load() != limit {
			t.Fatalf("%d takes succeeded across two nodes, want exactly %d", ok.Load(), limit)
		}
		read, err := nodes[1].ReadCounters(ctx, []string{"w:second", "w:minute"})
		if err != nil || read[0] != limit || read[1] != limit {
			t.Fatalf("counters after the run: %v %v", read, err)
		}
	})

	t.Run("CountersPurge", func(t *testing.T) {
		c := counters(t, false)
		if _, err := c.AddCounters(ctx, []store.Counter{{Key: "old", ExpiresAt: 50}, {Key: "new", ExpiresAt: 500}}, []int64{1, 1}); err != nil {
			t.Fatal(err)
		}
		n, err := c.PurgeCounters(ctx, 100)
		if err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		read, _ := c.ReadCounters(ctx, []string{"old", "new"})
		if fmt.Sprint(read) != "[0 1]" {
			t.Fatalf("after purge: %v", read)
		}
	})
}
