package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/postgres"
	"github.com/gatehouse/gatehouse/store/sqlstore"
)

// clusterNode is one node's store and cluster membership in these tests.
type clusterNode struct {
	id      string
	store   *store.Store
	cluster *postgres.Cluster

	mu      sync.Mutex
	reloads []time.Time // remote reload events, as they arrived
}

func (n *clusterNode) remoteReloads() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.reloads)
}

// waitReload waits for a remote reload event that arrived at or after
// since, for at most within after since, and returns when it arrived.
func (n *clusterNode) waitReload(t *testing.T, since time.Time, within time.Duration) time.Time {
	t.Helper()
	deadline := since.Add(within)
	for {
		n.mu.Lock()
		for _, at := range n.reloads {
			if !at.Before(since) {
				n.mu.Unlock()
				return at
			}
		}
		n.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("node %s got no remote reload within %v", n.id, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bootstrapped creates a bootstrapped database at dsn's server and returns its DSN.
func bootstrapped(t *testing.T, dsn string) {
	t.Helper()
	b, err := postgres.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := sqlstore.NewMigrator(b).Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func joinNode(t *testing.T, dsn, id string, freq time.Duration) *clusterNode {
	t.Helper()
	b, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{id: id, store: store.New(b, store.Options{})}
	n.store.Bus().Subscribe(func(ev store.Event) {
		if ev.Remote && ev.Op == store.OpReload {
			n.mu.Lock()
			n.reloads = append(n.reloads, time.Now())
			n.mu.Unlock()
		}
	})
	n.cluster, err = postgres.JoinCluster(context.Background(), postgres.ClusterOptions{
		DSN: dsn, NodeID: id, Backend: b, Bus: n.store.Bus(), Frequency: freq,
	})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closeWithin(t, n.cluster.Close, 5*time.Second)
		b.Close()
	})
	return n
}

// closeWithin fails the test when fn does not return in time.
func closeWithin(t *testing.T, fn func(), d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { fn(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("Close still running after %v", d)
	}
}

// createService writes through the node, retrying while the database is
// (re)starting. It returns when the successful attempt started and when it
// returned.
func createService(t *testing.T, n *clusterNode, name string) (started, done time.Time) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		started = time.Now()
		_, err := n.store.Insert(ctx, "services", map[string]any{"name": name, "host": "example.test"})
		cancel()
		if err == nil {
			return started, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating %s through %s: %v", name, n.id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterChangeLog: each committed write adds one change-log row in its
// own transaction, naming the writing node; a write that fails adds none;
// the other node hears of it, the writer does not.
func TestClusterChangeLog(t *testing.T) {
	dsn := freshDatabase(t)
	bootstrapped(t, dsn)
	a := joinNode(t, dsn, "node-a", time.Second)
	b := joinNode(t, dsn, "node-b", time.Second)
	started, _ := createService(t, a, "s1")
	b.waitReload(t, started, time.Second)
	// A duplicate name fails inside the transaction: nothing is logged.
	if _, err := a.store.Insert(context.Background(), "services", map[string]any{"name": "s1", "host": "x.test"}); err == nil {
		t.Fatal("duplicate service accepted")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	var node, data string
	if err := db.QueryRow(`SELECT count(*), min(node_id), min(data) FROM cluster_events`).Scan(&rows, &node, &data); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || node != "node-a" || data != "services" {
		t.Fatalf("change log holds %d rows (node %q, data %q), want 1 from node-a about services", rows, node, data)
	}
	time.Sleep(1500 * time.Millisecond) // a full poll period
	if n := a.remoteReloads(); n != 0 {
		t.Fatalf("the writer reloaded %d times for its own change", n)
	}
	if n := b.remoteReloads(); n != 1 {
		t.Fatalf("node b reloaded %d times for one change", n)
	}
	if a.cluster.Seen() != b.cluster.Seen() || b.cluster.Seen() == 0 {
		t.Fatalf("positions: a %d, b %d", a.cluster.Seen(), b.cluster.Seen())
	}
}

// TestClusterPollsWithoutNotify: a change whose NOTIFY never arrives (as
// when the database restarts between commit and delivery) still reaches
// the other nodes within db_update_frequency, from the change log.
func TestClusterPollsWithoutNotify(t *testing.T) {
	dsn := freshDatabase(t)
	bootstrapped(t, dsn)
	freq := 500 * time.Millisecond
	b := joinNode(t, dsn, "node-b", freq)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A change logged without a notification.
	start := time.Now()
	if _, err := db.Exec(`INSERT INTO cluster_events (node_id, channel, data) VALUES ('node-a', $1, 'services')`, postgres.Channel); err != nil {
		t.Fatal(err)
	}
	at := b.waitReload(t, start, freq+time.Second)
	if d := at.Sub(start); d > freq+300*time.Millisecond {
		t.Fatalf("reload came %v after the change, want within db_update_frequency %v", d, freq)
	}
}

// TestClusterDatabaseRestart restarts a private Postgres between two nodes:
// the first change made on node a after the restart reaches node b within
// db_update_frequency (before, its NOTIFY was lost and b only caught up on
// a later change), and Close returns while the database is down.
func TestClusterDatabaseRestart(t *testing.T) {
	srv := testpg.StartPrivate(t)
	dsn := srv.Database(fmt.Sprintf("gh_restart_%d", time.Now().UnixNano()))
	bootstrapped(t, dsn)
	freq := time.Second
	a := joinNode(t, dsn, "node-a", freq)
	b := joinNode(t, dsn, "node-b", freq)

	started, _ := createService(t, a, "before")
	b.waitReload(t, started, freq)

	// A change at once after a restart, and one after both nodes had time
	// to reconnect.
	for _, pause := range []time.Duration{0, 2 * freq} {
		srv.Restart()
		time.Sleep(pause)
		name := fmt.Sprintf("after-%d", pause.Milliseconds())
		// Only a reload that comes after the write started can carry it (a
		// reload on reconnect that precedes the write does not count).
		started, wrote := createService(t, a, name)
		at := b.waitReload(t, started, freq+2*time.Second)
		delay := max(at.Sub(wrote), 0)
		t.Logf("first change %v after a restart reached node b %v after its commit", pause, delay)
		if delay > freq+500*time.Millisecond {
			t.Fatalf("first change after the restart took %v to reach node b, want within db_update_frequency %v", delay, freq)
		}
		// Node b's pooled connections died with the server: its reads
		// start again on fresh ones.
		if _, err := b.store.Get(context.Background(), "services", name); err != nil {
			t.Fatalf("node b cannot read the change: %v", err)
		}
	}

	// With the database down, Close must not hang.
	srv.Stop()
	closeWithin(t, a.cluster.Close, 5*time.Second)
	closeWithin(t, b.cluster.Close, 5*time.Second)
}

// TestClusterHearsPlainWriters: writes through a backend that is no cluster
// member (a CLI command such as db_import) are logged too, and reach the
// nodes.
func TestClusterHearsPlainWriters(t *testing.T) {
	dsn := freshDatabase(t)
	bootstrapped(t, dsn)
	b := joinNode(t, dsn, "node-b", time.Second)
	plain, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	start := time.Now()
	if _, err := store.New(plain, store.Options{}).Insert(context.Background(), "services", map[string]any{"name": "cli", "host": "example.test"}); err != nil {
		t.Fatal(err)
	}
	b.waitReload(t, start, time.Second)
}

// TestClusterReloadsAfterGap: when the row a node saw last was purged
// together with rows it never read (it was cut off longer than the
// retention), the node reloads even if only its own rows remain after.
func TestClusterReloadsAfterGap(t *testing.T) {
	dsn := freshDatabase(t)
	bootstrapped(t, dsn)
	freq := 300 * time.Millisecond
	b := joinNode(t, dsn, "node-b", freq)
	started, _ := createService(t, b, "own")
	time.Sleep(2 * freq) // b has read its own row
	if b.remoteReloads() != 0 || b.cluster.Seen() == 0 {
		t.Fatalf("before the gap: %d reloads, position %d", b.remoteReloads(), b.cluster.Seen())
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// In one transaction: another node's change, one of b's own, and a
	// purge of everything before b's own.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"node-a", "node-b"} {
		if _, err := tx.Exec(`INSERT INTO cluster_events (node_id, channel, data) VALUES ($1, $2, 'services')`, node, postgres.Channel); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(`DELETE FROM cluster_events WHERE id < (SELECT max(id) FROM cluster_events)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	b.waitReload(t, started, 2*time.Second)
}

// TestClusterPurgesOldRows: change-log rows older than the retention are
// deleted, except the newest.
func TestClusterPurgesOldRows(t *testing.T) {
	dsn := freshDatabase(t)
	bootstrapped(t, dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO cluster_events (node_id, channel, at) SELECT 'old', $1, now() - interval '2 hours' FROM generate_series(1, 3)`, postgres.Channel); err != nil {
		t.Fatal(err)
	}
	joinNode(t, dsn, "node-b", 200*time.Millisecond)
	deadline := time.Now().Add(2 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM cluster_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d change-log rows left, want only the newest", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterMessages: a message one node broadcasts reaches the other
// nodes' subscribers of its channel, in order, without reloading their
// configuration; the sender and the other channels' subscribers do not
// get it.
func TestClusterMessages(t *testing.T) {
	dsn := freshDatabase(t)
	bootstrapped(t, dsn)
	a := joinNode(t, dsn, "node-a", time.Second)
	b := joinNode(t, dsn, "node-b", time.Second)
	a.store.SetBroadcaster(a.cluster)
	var mu sync.Mutex
	var atB, atA, other []string
	b.store.Bus().OnMessage("purge", func(d string) { mu.Lock(); atB = append(atB, d); mu.Unlock() })
	b.store.Bus().OnMessage("elsewhere", func(d string) { mu.Lock(); other = append(other, d); mu.Unlock() })
	a.store.Bus().OnMessage("purge", func(d string) { mu.Lock(); atA = append(atA, d); mu.Unlock() })
	for _, d := range []string{"p1:k1", "p1:nil"} {
		if err := a.store.Broadcast(context.Background(), "purge", d); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		got := fmt.Sprint(atB)
		mu.Unlock()
		if got == "[p1:k1 p1:nil]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b got %s, want [p1:k1 p1:nil]", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(atA) != 0 || len(other) != 0 {
		t.Fatalf("the sender got %v, another channel got %v", atA, other)
	}
	if n := b.remoteReloads(); n != 0 {
		t.Fatalf("messages reloaded node b's configuration %d times", n)
	}
	if err := a.cluster.Broadcast(context.Background(), postgres.Channel, "x"); err == nil {
		t.Fatal("a message on the change log's channel was accepted")
	}
}
