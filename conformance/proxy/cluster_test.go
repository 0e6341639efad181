package proxy_test

import (
	"net/http"
	"net/url"
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

// TestClusterDatabaseRestart restarts the Postgres two nodes share (a
// private server, so other tests' server is untouched): the first change
// made through node a after the restart reaches node b's proxy within
// db_update_frequency, even when its NOTIFY is lost, because nodes read the
// change log. With the database down, node b keeps serving its last
// configuration and both nodes close promptly.
func TestClusterDatabaseRestart(t *testing.T) {
	up := startUpstream(t, "shared", nil)
	srv := testpg.StartPrivate(t)
	db := srv.Settings()
	const freq = time.Second
	db["db_update_frequency"] = "1"
	a := startNode(t, db)
	b := startNode(t, db)

	a.configure("POST", "/services", "name=s", "url=http://"+up.addr)
	a.configure("POST", "/services/s/routes", "name=before", "paths=/before")
	waitServed(t, b, "/before", time.Now().Add(freq+500*time.Millisecond))

	// Two restarts: a change made at once (its NOTIFY may go out before
	// node b listens again), and one made after both nodes reconnected
	// (before, node a's broken sending connection lost its NOTIFY).
	for _, c := range []struct {
		path  string
		pause time.Duration
	}{{"/early", 0}, {"/late", 2 * freq}} {
		srv.Restart()
		time.Sleep(c.pause)
		committed := createRoute(t, a, c.path)
		served := waitServed(t, b, c.path, committed.Add(freq+500*time.Millisecond))
		t.Logf("first change after a restart (made %v after it) served by node b %v after node a committed it",
			c.pause, served.Sub(committed))
	}

	// Database down: node b serves its last snapshot; nodes close promptly.
	srv.Stop()
	if r := b.request("GET", "/late", nil, nil); r.status != http.StatusOK || r.echo(t).Server != "shared" {
		t.Fatalf("node b answers %d with its database down, want its last configuration", r.status)
	}
	for _, nd := range []*node{a, b} {
		done := make(chan struct{})
		go func() { nd.n.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("node Close hangs with the database down")
		}
	}
}

// createRoute adds a route for path to service s through nd's Admin API,
// retrying until the database answers, and returns when it was created.
func createRoute(t *testing.T, nd *node, path string) time.Time {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.PostForm(nd.admin+"/services/s/routes", url.Values{"paths": {path}})
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusCreated {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node never accepted the route %s after the restart: %v %v", path, res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitServed waits until nd's proxy routes path to the upstream, failing at
// deadline, and returns when it first did.
func waitServed(t *testing.T, nd *node, path string, deadline time.Time) time.Time {
	t.Helper()
	for {
		r := nd.request("GET", path, nil, nil)
		if r.status == http.StatusOK && r.echo(t).Server == "shared" {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("node still answers %d for %s at the deadline", r.status, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
