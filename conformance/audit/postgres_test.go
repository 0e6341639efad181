package audit_test

import (
	"database/sql"
	"net/url"
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// TestAuditPostgres records on one node and reads on another sharing the
// database; audit records add nothing to the cluster change log, so they
// reload no node.
func TestAuditPostgres(t *testing.T) {
	settings := testpg.Settings(t)
	a := start(t, settings)
	b := start(t, settings)
	svc := a.must("POST", "/services", map[string]any{"name": "pg1", "url": "http://127.0.0.1:9"}, 201)
	if code, body, _ := a.call("POST", "/services", map[string]any{"name": "pg1", "url": "http://127.0.0.1:9"}); code != 409 {
		t.Fatalf("duplicate: %d %s", code, body)
	}
	p, _ := b.list("/audit/requests")
	if len(p.Data) != 2 || p.Data[0]["status"] != 201.0 || p.Data[0]["entity_id"] != svc["id"] || p.Data[1]["status"] != 409.0 {
		t.Fatalf("records read on the other node: %v", p.Data)
	}
	o, _ := b.list("/audit/objects?dao_name=services")
	if len(o.Data) != 1 || o.Data[0]["operation"] != "create" || o.Data[0]["entity_key"] != svc["id"] {
		t.Fatalf("object records: %v", o.Data)
	}

	u, err := url.Parse(os.Getenv("GATEHOUSE_TEST_PG_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + settings["pg_database"]
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logged, stored int
	if err := db.QueryRow(`SELECT count(*) FROM cluster_events WHERE data LIKE '%audit%'`).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM entities WHERE entity IN ('audit_requests', 'audit_objects')`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if logged != 0 || stored != 3 {
		t.Fatalf("cluster_events rows naming audit records: %d (want 0); stored audit rows: %d (want 3)", logged, stored)
	}
}
