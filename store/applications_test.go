package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func TestInstanceAllows(t *testing.T) {
	tests := []struct {
		name string
		inst map[string]any
		want bool
	}{
		{"approved", map[string]any{"status": int64(0), "suspended": false}, true},
		{"approved as float", map[string]any{"status": 0.0}, true},
		{"approved, suspended", map[string]any{"status": int64(0), "suspended": true}, false},
		{"pending", map[string]any{"status": int64(1)}, false},
		{"revoked", map[string]any{"status": int64(3)}, false},
		{"no status", map[string]any{}, false},
		{"status a string", map[string]any{"status": "0"}, false},
		{"none", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.InstanceAllows(tc.inst); got != tc.want {
				t.Fatalf("InstanceAllows(%v) = %v", tc.inst, got)
			}
		})
	}
}

func TestApplicationEntities(t *testing.T) {
	st := openStore(t, store.Options{})
	ctx := store.WithTypedInput(context.Background())
	ref := func(rec map[string]any) map[string]any { return map[string]any{"id": rec["id"]} }
	must := func(rec map[string]any, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	dev := must(st.Insert(ctx, "developers", map[string]any{"email": "a@x.test"}))
	other := must(st.Insert(ctx, "developers", map[string]any{"email": "b@x.test"}))
	svc := must(st.Insert(ctx, "services", map[string]any{"host": "up.test"}))
	c1 := must(st.Insert(ctx, "consumers", map[string]any{"username": "c1"}))
	c2 := must(st.Insert(ctx, "consumers", map[string]any{"username": "c2"}))
	c3 := must(st.Insert(ctx, "consumers", map[string]any{"username": "c3"}))

	app := must(st.Insert(ctx, store.ApplicationEntity, map[string]any{"name": "app  ", "redirect_uri": "http://cb.test/",
		"consumer": ref(c1), "developer": ref(dev)}))
	if app["name"] != "app" {
		t.Fatalf("name not trimmed: %v", app)
	}
	tests := []struct {
		name string
		in   map[string]any
		code store.Code // 0: accepted
	}{
		{"same name, same developer", map[string]any{"name": "app", "consumer": ref(c2), "developer": ref(dev)}, store.CodeUniqueViolation},
		{"same name, other developer", map[string]any{"name": "app", "consumer": ref(c2), "developer": ref(other)}, 0},
		{"bad redirect_uri", map[string]any{"name": "x", "redirect_uri": "nope", "consumer": ref(c3), "developer": ref(dev)}, store.CodeSchemaViolation},
		{"no developer", map[string]any{"name": "y", "consumer": ref(c3)}, store.CodeSchemaViolation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Insert(ctx, store.ApplicationEntity, tc.in)
			if tc.code == 0 && err != nil {
				t.Fatal(err)
			}
			if e, ok := store.AsError(err); tc.code != 0 && (!ok || e.Code != tc.code) {
				t.Fatalf("err %v, want code %v", err, tc.code)
			}
		})
	}

	inst := must(st.Insert(ctx, store.ApplicationInstanceEntity, map[string]any{"application": ref(app), "service": ref(svc)}))
	if inst["composite_id"] != store.CompositeID(app["id"].(string), svc["id"].(string)) || inst["status"] != int64(1) && inst["status"] != 1.0 {
		t.Fatalf("instance: %v", inst)
	}
	if _, err := st.Insert(ctx, store.ApplicationInstanceEntity, map[string]any{"application": ref(app), "service": ref(svc)}); err == nil {
		t.Fatal("second instance of the same application and service accepted")
	}
	got := must(st.FindUnique(ctx, store.ApplicationInstanceEntity, "composite_id", inst["composite_id"].(string)))
	if got["id"] != inst["id"] {
		t.Fatalf("by composite_id: %v", got)
	}
	// Deleting the developer deletes its applications and their instances.
	if _, err := st.Delete(ctx, "developers", dev["id"].(string)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct{ entity, id string }{{store.ApplicationEntity, app["id"].(string)}, {store.ApplicationInstanceEntity, inst["id"].(string)}} {
		if _, err := st.Get(ctx, e.entity, e.id); !store.IsNotFound(err) {
			t.Fatalf("%s left after the developer's deletion: %v", e.entity, err)
		}
	}
	if !store.NotDeclarative(store.ApplicationEntity) || !store.NotDeclarative(store.ApplicationInstanceEntity) {
		t.Fatal("applications are declarative")
	}
}

// TestPortalConsumersHidden: the consumer behind an application (or a
// developer's own) is recognised (the applications row referencing it,
// the username naming a developer), and an export
// leaves it out with every record that references it (an ACL, a
// credential, a plugin scoped to it), while a proxy consumer and its
// records stay.
func TestPortalConsumersHidden(t *testing.T) {
	st := openStore(t, store.Options{})
	ctx := store.WithTypedInput(context.Background())
	must := func(rec map[string]any, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	ref := func(rec map[string]any) map[string]any { return map[string]any{"id": rec["id"]} }
	dev := must(st.Insert(ctx, "developers", map[string]any{"email": "a@x.test"}))
	appCons := must(st.Insert(ctx, "consumers", map[string]any{"username": "app-consumer"}))
	proxyCons := must(st.Insert(ctx, "consumers", map[string]any{"username": "alice"}))
	app := must(st.Insert(ctx, store.ApplicationEntity, map[string]any{"name": "app", "redirect_uri": "http://cb.test/",
		"consumer": ref(appCons), "developer": ref(dev)}))
	for _, c := range []map[string]any{appCons, proxyCons} {
		must(st.Insert(ctx, "acls", map[string]any{"consumer": ref(c), "group": "g"}))
		must(st.Insert(ctx, "basicauth_credentials", map[string]any{"consumer": ref(c), "username": c["username"], "password": "pw"}))
	}

	devCons := must(st.Insert(ctx, "consumers", map[string]any{"username": store.DeveloperConsumerUsername(dev["id"].(string))}))
	must(st.Insert(ctx, "acls", map[string]any{"consumer": ref(devCons), "group": "g"}))
	// A consumer named like a UUID that is no developer's is a proxy one.
	uuidCons := must(st.Insert(ctx, "consumers", map[string]any{"username": "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a00ff"}))
	set, err := st.PortalConsumerSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rec  map[string]any
		want bool
	}{{"application's", appCons, true}, {"developer's", devCons, true}, {"proxy", proxyCons, false},
		{"uuid-named proxy", uuidCons, false}, {"empty", map[string]any{}, false}} {
		got, err := st.IsPortalConsumer(ctx, tc.rec)
		if err != nil || got != tc.want {
			t.Errorf("IsPortalConsumer(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
		if set.Has(tc.rec) != tc.want {
			t.Errorf("PortalConsumerSet.Has(%s) = %v; want %v", tc.name, !tc.want, tc.want)
		}
	}
	if _, err := st.Delete(ctx, "consumers", uuidCons["id"].(string)); err != nil {
		t.Fatal(err)
	}

	data, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, entity := range []string{"consumers", "acls", "basicauth_credentials"} {
		if len(data[entity]) != 1 {
			t.Fatalf("export %s: %v", entity, data[entity])
		}
		rec := data[entity][0]
		if rec["id"] != proxyCons["id"] && store.ForeignID(rec["consumer"]) != proxyCons["id"] {
			t.Fatalf("export %s kept %v", entity, rec)
		}
	}
	if len(data[store.ApplicationEntity]) != 1 || data[store.ApplicationEntity][0]["id"] != app["id"] {
		t.Fatalf("export applications: %v", data[store.ApplicationEntity])
	}
	// The consumer itself is still in the store: the proxy loads it.
	if _, err := st.Get(ctx, "consumers", appCons["id"].(string)); err != nil {
		t.Fatalf("application consumer gone from the store: %v", err)
	}
	// Without applications nor developers, nothing is hidden.
	if _, err := st.Delete(ctx, store.ApplicationEntity, app["id"].(string)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Delete(ctx, "developers", dev["id"].(string)); err != nil {
		t.Fatal(err)
	}
	if data, err = st.Export(ctx); err != nil || len(data["consumers"]) != 3 || len(data["acls"]) != 3 {
		t.Fatalf("export after the application went: %v, %v", data, err)
	}
}

// TestEachRecord: the walk sees every selected record once across pages
// (more than MaxPageSize), whatever Size or Offset the query carried; an
// error of the callback stops it and comes back unchanged; a read error
// names the entity.
func TestEachRecord(t *testing.T) {
	st := openStore(t, store.Options{})
	ctx := store.WithTypedInput(context.Background())
	const n = store.MaxPageSize + 7
	for i := range n {
		if _, err := st.Insert(ctx, "consumers", map[string]any{"username": fmt.Sprintf("c%04d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	tests := []struct {
		name    string
		entity  string
		q       store.ListQuery
		stopAt  int // 0: never
		want    int
		wantErr func(error) bool
	}{
		{"all, across pages", "consumers", store.ListQuery{}, 0, n, nil},
		{"the query's size and offset are the walk's", "consumers", store.ListQuery{Size: 1, Offset: "bogus"}, 0, n, nil},
		{"stopped by the callback", "consumers", store.ListQuery{}, 3, 3, func(err error) bool { return err == stop }},
		{"none", "developers", store.ListQuery{}, 0, 0, nil},
		{"unknown entity", "nope", store.ListQuery{}, 0, 0, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "listing nope")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[any]bool{}
			err := st.EachRecord(ctx, tc.entity, tc.q, func(rec map[string]any) error {
				if seen[rec["id"]] {
					t.Fatalf("%v seen twice", rec["id"])
				}
				seen[rec["id"]] = true
				if len(seen) == tc.stopAt {
					return stop
				}
				return nil
			})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("error %v", err)
			}
			if len(seen) != tc.want {
				t.Fatalf("saw %d records, want %d", len(seen), tc.want)
			}
		})
	}
}
