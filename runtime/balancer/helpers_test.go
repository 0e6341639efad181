package balancer

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
)

// quiet is a logger that drops everything, for tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func tgt(id, target string, weight int64) map[string]any {
	return map[string]any{"id": id, "target": target, "weight": weight}
}

// loopTargets returns one target per weight on 127.0.0.1:10001, :10002, ...
func loopTargets(weights ...int64) []map[string]any {
	out := make([]map[string]any, len(weights))
	for i, w := range weights {
		out[i] = tgt(fmt.Sprintf("t%d", i+1), fmt.Sprintf("127.0.0.1:%d", 10001+i), w)
	}
	return out
}

func mustNew(t testing.TB, up map[string]any, targets []map[string]any, opts Options) *Balancer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	b, err := New(up, targets, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// countPicks makes n picks (with Report unless hold) and counts them per
// target.
func countPicks(t testing.TB, b *Balancer, n int, hold bool, in func(i int) *HashInput) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		var hi *HashInput
		if in != nil {
			hi = in(i)
		}
		p, err := b.Pick(hi, nil)
		if err != nil {
			t.Fatalf("pick %d: %v", i, err)
		}
		got[p.Target]++
		if !hold {
			b.Report(p, Result{Status: 200})
		}
	}
	return got
}

// checkShares checks that each target got its weight's share within tol
// (relative, e.g. 0.05) of the expected count.
func checkShares(t *testing.T, got map[string]int, targets []map[string]any, n int, tol float64) {
	t.Helper()
	var sum int64
	for _, m := range targets {
		sum += m["weight"].(int64)
	}
	for _, m := range targets {
		w := m["weight"].(int64)
		name := m["target"].(string)
		want := float64(n) * float64(w) / float64(sum)
		if w == 0 {
			if got[name] != 0 {
				t.Errorf("%s (weight 0) got %d picks", name, got[name])
			}
			continue
		}
		if math.Abs(float64(got[name])-want) > tol*want {
			t.Errorf("%s: got %d picks, want %.0f ±%.0f%%", name, got[name], want, tol*100)
		}
	}
}
