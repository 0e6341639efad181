package rbac_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// TestRBACPostgres runs the enforced checks on Postgres and reads every
// row of every table of the node's database: no clear token anywhere,
// the digest present.
func TestRBACPostgres(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	settings := testpg.Settings(t)
	settings["enforce_rbac"] = "on"
	n := testnode.Start(t, settings)
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	e := &env{t: t, admin: "http://" + n.Addr("admin"), client: &http.Client{Transport: tr}}
	reader := e.createUser("reader", "read-only")
	e.want("", "GET", "/services", nil, 401)
	e.want("wrong", "GET", "/services", nil, 401)
	e.want(rootToken, "POST", "/services", map[string]any{"name": "s1", "url": "http://example.test"}, 201)
	e.want(reader, "GET", "/services", nil, 200)
	e.want(reader, "POST", "/services", map[string]any{"name": "s2", "url": "http://example.test"}, 403)

	dsn := fmt.Sprintf("postgres://%s@%s:%s/%s?sslmode=disable", settings["pg_user"], settings["pg_host"], settings["pg_port"], settings["pg_database"])
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var all strings.Builder
	for _, table := range tables {
		rs, err := db.Query(fmt.Sprintf(`SELECT t::text FROM %q t`, table))
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var row string
			if err := rs.Scan(&row); err != nil {
				t.Fatal(err)
			}
			all.WriteString(row)
			all.WriteByte('\n')
		}
		rs.Close()
	}
	dump := all.String()
	for _, clear := range []string{reader, rootToken} {
		if strings.Contains(dump, clear) {
			t.Errorf("the database holds a clear token")
		}
	}
	if !strings.Contains(dump, sha256hex(reader)) {
		t.Errorf("no row holds the reader's token digest: the dump read no rbac_users (%d tables)", len(tables))
	}
}

// TestRolesPostgres: on Postgres, the predefined roles are seeded once
// whatever the number of nodes starting on the database, a custom role
// with a negative permission decides on either node, and api-provider is
// kept out of /rbac.
func TestRolesPostgres(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	settings := testpg.Settings(t)
	settings["enforce_rbac"] = "on"
	n1 := testnode.Start(t, settings)
	n2 := testnode.Start(t, settings) // seeds again: nothing doubles
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	e1 := &env{t: t, admin: "http://" + n1.Addr("admin"), client: &http.Client{Transport: tr}}
	e2 := &env{t: t, admin: "http://" + n2.Addr("admin"), client: &http.Client{Transport: tr}}
	if roles := e2.want(rootToken, "GET", "/rbac/roles", nil, 200)["data"].([]any); len(roles) != 4 {
		t.Fatalf("%d roles after two starts, want the 4 predefined", len(roles))
	}
	eps1 := e1.want(rootToken, "GET", "/rbac/roles/admin/endpoints?size=1000", nil, 200)["data"].([]any)
	eps2 := e2.want(rootToken, "GET", "/rbac/roles/admin/endpoints?size=1000", nil, 200)["data"].([]any)
	if len(eps1) != len(eps2) || len(eps1) < 2 {
		t.Fatalf("admin endpoints: %d then %d", len(eps1), len(eps2))
	}
	e1.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "svc"}, 201)
	e1.want(rootToken, "POST", "/rbac/roles/svc/endpoints", map[string]any{"endpoint": "*", "actions": "*"}, 201)
	e1.want(rootToken, "POST", "/rbac/roles/svc/endpoints", map[string]any{"endpoint": "/services/*", "actions": "delete", "negative": true}, 201)
	dev := e1.createUser("dev", "svc")
	prov := e1.createUser("prov", "api-provider")
	e2.want(dev, "POST", "/services", svc("s1"), 201)
	e2.wantBody(dev, "DELETE", "/services/s1", nil, 403, forbidden("dev", "delete"))
	e1.wantBody(prov, "GET", "/rbac/users", nil, 403, forbidden("prov", "read"))
	e2.want(prov, "DELETE", "/services/s1", nil, 204)
}
