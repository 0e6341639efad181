package admin

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// BenchmarkCallFor measures what the authorizer hook adds to each Admin API
// call before the handler runs: splitting the path again and resolving it.
func BenchmarkCallFor(b *testing.B) {
	bk, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "kong.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer bk.Close()
	s := New(Options{Store: store.New(bk, store.Options{})})
	for _, path := range []string{"/services", "/services/svc/routes/r1", "/status"} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, ok := s.callFor("GET", splitPath(path)); !ok {
					b.Fatal("no call")
				}
			}
		})
	}
}
