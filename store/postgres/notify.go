package postgres

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/jackc/pgx/v5"
)

// Channel is the Postgres notification channel nodes share.
const Channel = "gatehouse_events"

// notice is what one node tells the others about a committed change.
type notice struct {
	Node   string `json:"node"`
	Entity string `json:"entity"`
	Op     string `json:"op"`
}

// Cluster propagates changes between nodes sharing one Postgres database:
// every local change event is announced with NOTIFY, and announcements from
// other nodes arrive on the local bus as reload events (Remote set), so
// each node's snapshot and caches follow writes made anywhere.
type Cluster struct {
	dsn    string
	node   string
	bus    *store.Bus
	log    *slog.Logger
	cancel context.CancelFunc
	unsub  func()
	wg     sync.WaitGroup
	sendMu sync.Mutex
	send   *pgx.Conn
}

// JoinCluster starts announcing local changes and listening for others'.
// It returns once the listener is connected.
func JoinCluster(ctx context.Context, dsn, nodeID string, bus *store.Bus, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.Default()
	}
	listen, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := listen.Exec(ctx, "LISTEN "+Channel); err != nil {
		listen.Close(ctx)
		return nil, err
	}
	send, err := pgx.Connect(ctx, dsn)
	if err != nil {
		listen.Close(ctx)
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c := &Cluster{dsn: dsn, node: nodeID, bus: bus, log: log, cancel: cancel, send: send}
	c.unsub = bus.Subscribe(c.announce)
	c.wg.Add(1)
	go c.listen(runCtx, listen)
	return c, nil
}

// announce sends a local event to the other nodes.
func (c *Cluster) announce(ev store.Event) {
	if ev.Remote {
		return
	}
	payload, _ := json.Marshal(notice{Node: c.node, Entity: ev.Entity, Op: string(ev.Op)})
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.send == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.send.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, string(payload)); err != nil {
		c.log.Warn("cluster: announcing a change failed; reconnecting", "error", err)
		c.send.Close(ctx)
		c.send, _ = pgx.Connect(ctx, c.dsn)
	}
}

// listen turns other nodes' announcements into reload events, reconnecting
// after failures (and reloading then, since announcements may be lost).
func (c *Cluster) listen(ctx context.Context, conn *pgx.Conn) {
	defer c.wg.Done()
	for {
		n, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			conn.Close(context.Background())
			return
		}
		if err != nil {
			c.log.Warn("cluster: listener lost its connection; reconnecting", "error", err)
			conn.Close(context.Background())
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if conn, err = pgx.Connect(ctx, c.dsn); err == nil {
					if _, err = conn.Exec(ctx, "LISTEN "+Channel); err == nil {
						break
					}
					conn.Close(context.Background())
				}
			}
			c.bus.Publish(store.Event{Op: store.OpReload, Remote: true})
			continue
		}
		var msg notice
		if json.Unmarshal([]byte(n.Payload), &msg) != nil || msg.Node == c.node {
			continue
		}
		c.bus.Publish(store.Event{Op: store.OpReload, Entity: "", Remote: true})
	}
}

// Close stops announcing and listening.
func (c *Cluster) Close() {
	c.unsub()
	c.cancel()
	c.wg.Wait()
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.send != nil {
		c.send.Close(context.Background())
		c.send = nil
	}
}
