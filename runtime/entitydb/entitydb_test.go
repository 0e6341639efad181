package entitydb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/entitydb"
	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/store"
)

func TestWritesAndErrors(t *testing.T) {
	st, _ := catalogtest.OpenStore(t, "key-auth")
	var events []store.Event
	st.Bus().Subscribe(func(e store.Event) { events = append(events, e) })
	db := entitydb.New(st)
	ctx := context.Background()

	c, err := db.Insert(ctx, "consumers", hostabi.Entity{"username": "ada"}, hostabi.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A credential with a time to live: the store keeps and reports it.
	cred, err := db.Insert(ctx, "keyauth_credentials", hostabi.Entity{"key": "k1", "consumer": map[string]any{"id": c["id"]}},
		hostabi.WriteOptions{TTL: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ttl, _ := cred["ttl"].(int64); ttl <= 0 || ttl > 100 {
		t.Errorf("ttl %v, want 1..100", cred["ttl"])
	}
	page, _, err := db.Page(ctx, "keyauth_credentials", hostabi.PageQuery{ForeignField: "consumer", ForeignKey: "ada"})
	if err != nil || len(page) != 1 || page[0]["key"] != "k1" {
		t.Fatalf("page for consumer: %v %v", page, err)
	}
	// Kong's error objects: a schema violation names its fields.
	_, err = db.Insert(ctx, "consumers", hostabi.Entity{"username": 5}, hostabi.WriteOptions{})
	var de *hostabi.DBError
	if !errors.As(err, &de) || de.Code != 2 || de.Name != "schema violation" || de.Fields["username"] != "expected a string" {
		t.Fatalf("schema violation: %#v", err)
	}
	// A cascade: deleting the consumer deletes its credential.
	if err := db.Delete(ctx, "consumers", "ada"); err != nil {
		t.Fatal(err)
	}
	if gone, err := db.SelectBy(ctx, "keyauth_credentials", "key", "k1"); gone != nil || err != nil {
		t.Fatalf("credential after the cascade: %v %v", gone, err)
	}
	// Writes are changes like any other, made by the plugin actor.
	if len(events) == 0 || events[0].Actor != entitydb.Actor {
		t.Fatalf("events %v", events)
	}
}
