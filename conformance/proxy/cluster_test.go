package proxy_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// TestClusterPropagation runs two nodes on one Postgres database: a change
// made through one node's Admin API reaches the other node's proxy within a
// second, through LISTEN/NOTIFY, with no rebuild forced by the test.
func TestClusterPropagation(t *testing.T) {
	up := startUpstream(t, "shared", nil)
	db := testpg.Settings(t)
	a := startNode(t, db)
	b := startNode(t, db)

	a.configure("POST", "/services", "name=s", "url=http://"+up.addr)
	a.configure("POST", "/services/s/routes", "name=r", "paths=/cluster")
	deadline := time.Now().Add(time.Second)
	for {
		r := b.request("GET", "/cluster", nil, nil)
		if r.status == http.StatusOK && r.echo(t).Server == "shared" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b still answers %d a second after node a's change", r.status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And back: a deletion through node b reaches node a.
	req, _ := http.NewRequest("DELETE", b.admin+"/routes/r", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete through b: %v %v", res, err)
	}
	res.Body.Close()
	deadline = time.Now().Add(time.Second)
	for a.request("GET", "/cluster", nil, nil).status != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("node a still routes a second after node b deleted the route")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
