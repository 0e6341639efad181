package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// TestActorOnEvents: every change event a write publishes carries the actor
// of the write's context, on each write path (insert, update, upsert,
// delete, import); a context without one gives the anonymous actor.
func TestActorOnEvents(t *testing.T) {
	ctx := context.Background()
	b, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "actor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	s := store.New(b, store.Options{})
	var events []store.Event
	cancel := s.Bus().Subscribe(func(ev store.Event) { events = append(events, ev) })
	defer cancel()

	alice := store.Actor{ID: "a-1", Name: "alice"}
	as := store.WithActor(ctx, alice)
	if got := store.ActorFrom(ctx); !got.IsAnonymous() {
		t.Fatalf("actor of a bare context: %+v", got)
	}
	if got := store.ActorFrom(as); got != alice {
		t.Fatalf("ActorFrom = %+v, want %+v", got, alice)
	}
	steps := []struct {
		name  string
		run   func() error
		ctx   context.Context
		wants []store.Op
	}{
		{"insert", func() error {
			_, err := s.Insert(as, "services", map[string]any{"name": "svc", "host": "example.com"})
			return err
		}, as, []store.Op{store.OpCreate}},
		{"insert route", func() error {
			_, err := s.Insert(as, "routes", map[string]any{"name": "r", "paths": []any{"/"}, "service": map[string]any{"name": "svc"}})
			return err
		}, as, []store.Op{store.OpCreate}},
		{"update anonymous", func() error {
			_, err := s.Update(ctx, "services", "svc", map[string]any{"port": 8080})
			return err
		}, ctx, []store.Op{store.OpUpdate}},
		{"upsert", func() error {
			_, err := s.Upsert(as, "consumers", "bob", map[string]any{})
			return err
		}, as, []store.Op{store.OpCreate}},
		{"restricted delete", func() error {
			_, err := s.Delete(as, "services", "svc")
			return err
		}, as, nil}, // restricted by the route: nothing published
		{"delete route then service", func() error {
			if _, err := s.Delete(as, "routes", "r"); err != nil {
				return err
			}
			_, err := s.Delete(as, "services", "svc")
			return err
		}, as, []store.Op{store.OpDelete, store.OpDelete}},
		{"import", func() error {
			return s.Import(as, map[string][]map[string]any{"services": {{"name": "x", "host": "x.test"}}}, store.ImportOptions{})
		}, as, []store.Op{store.OpReload}},
	}
	for _, st := range steps {
		events = nil
		err := st.run()
		if st.wants == nil {
			if err == nil || len(events) != 0 {
				t.Fatalf("%s: err %v, %d events; want a refusal and none", st.name, err, len(events))
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if len(events) != len(st.wants) {
			t.Fatalf("%s: %d events, want %d", st.name, len(events), len(st.wants))
		}
		want := store.ActorFrom(st.ctx)
		for i, ev := range events {
			if ev.Op != st.wants[i] || ev.Actor != want {
				t.Errorf("%s: event %d is %s by %+v, want %s by %+v", st.name, i, ev.Op, ev.Actor, st.wants[i], want)
			}
		}
	}
}
