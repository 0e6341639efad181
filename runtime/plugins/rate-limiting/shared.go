package ratelimiting

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// window is one configured window of one identifier, as a shared counter
// server sees it.
type window struct {
	key    string
	limit  float64
	length int64 // seconds (the counter's expiration)
	start  int64 // Unix seconds
	per    Period
}

// counterID names a window's counter in batched mode without building its
// key: a request finds its counters by identifier, period and window
// start, and the key string is made once, when the counter is created.
type counterID struct {
	id    string
	per   Period
	start int64
}

// counterServer keeps counters shared by every node using it: a Redis
// server (redis policy) or the database (cluster policy).
type counterServer interface {
	// bind gives the server what it needs from a request (the database
	// comes with the node); it runs before every take.
	bind(k hostabi.Kong) error
	// take counts a request in every window unless one is exhausted, as
	// one atomic step: the counts before the request and the index of the
	// first exhausted window (-1: the request was counted).
	take(ctx context.Context, ws []window) ([]int64, int, error)
	// add adds local increments and returns the counters' new values.
	add(ctx context.Context, ws []window, deltas []int64) ([]int64, error)
	close() error
}

// sharedPolicy counts requests on a counterServer. With sync_rate -1
// every request is counted on the server (one round trip, exact under
// concurrency across nodes); with sync_rate > 0 requests are counted
// locally and the increments are sent every sync_rate seconds, the local
// view being the last value read from the server plus the increments not
// sent yet, so nodes agree within sync_rate.
type sharedPolicy struct {
	p       *Plugin
	server  counterServer
	timeout time.Duration

	// Batched mode (sync_rate > 0).
	mu      sync.Mutex
	pending map[counterID]*sharedCounter
	// lastNow is the time (Unix seconds) of the latest request counted,
	// which tells flush the windows that have ended.
	lastNow int64
	stop    chan struct{}
	done    chan struct{}
}

// sharedCounter is a window's counter in batched mode.
type sharedCounter struct {
	synced int64 // value last read from the server
	delta  int64 // local increments not sent yet
	w      window
}

func newSharedPolicy(p *Plugin, server counterServer, timeout time.Duration, syncRate float64) *sharedPolicy {
	s := &sharedPolicy{p: p, server: server, timeout: timeout}
	if syncRate > 0 {
		s.pending = map[counterID]*sharedCounter{}
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.syncLoop(time.Duration(syncRate * float64(time.Second)))
	}
	return s
}

// counterKey is the counter key of a window: Kong's
// "ratelimit:<route id>:<service id>:<identifier>:<window start in ms>:<period>",
// scope being "<route id>:<service id>" (ratecounter.KongScope).
func counterKey(scope, id string, start int64, per Period) string {
	return "ratelimit:" + scope + ":" + id + ":" + strconv.FormatInt(start*1000, 10) + ":" + per.String()
}

// take counts a request on the server (or locally, batched).
func (s *sharedPolicy) take(k hostabi.Kong, scope, id string, now int64) (usage, error) {
	u := usage{starts: windowStartsOf(now, s.p.calendar), stop: -1}
	if err := s.server.bind(k); err != nil {
		return u, err
	}
	if s.pending != nil {
		// The steady state: every window is counted on this node already,
		// no key is built and the server is not contacted.
		if counted, ok := s.count(u, id, nil); ok {
			return counted, nil
		}
	}
	pers := s.p.periods
	ws := make([]window, len(pers))
	for i, per := range pers {
		ws[i] = window{key: counterKey(scope, id, u.starts[per], per), limit: s.p.limits[per],
			length: expirations[per], start: u.starts[per], per: per}
	}
	ctx, cancel := context.WithTimeout(k.Context(), s.timeout)
	defer cancel()
	if s.pending != nil {
		if err := s.load(ctx, id, ws); err != nil {
			return u, err
		}
		counted, _ := s.count(u, id, ws)
		return counted, nil
	}
	counts, stop, err := s.server.take(ctx, ws)
	if err != nil {
		return u, err
	}
	for i, per := range pers {
		u.count[per] = counts[i]
	}
	if stop >= 0 {
		u.stop = pers[stop]
	}
	return u, nil
}

// load reads from the server, once, the windows this node has not
// counted in yet (as Kong reads a counter it has no local copy of), so a
// node joining a window sees the other nodes' requests at once, not
// after its first sync.
func (s *sharedPolicy) load(ctx context.Context, id string, ws []window) error {
	s.mu.Lock()
	var missing []window
	for _, w := range ws {
		if s.pending[counterID{id, w.per, w.start}] == nil {
			missing = append(missing, w)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	values, err := s.server.add(ctx, missing, make([]int64, len(missing)))
	if err != nil {
		return err
	}
	if len(values) != len(missing) {
		return fmt.Errorf("rate-limiting: %d counters read for %d windows", len(values), len(missing))
	}
	s.mu.Lock()
	for i, w := range missing {
		if cid := (counterID{strings.Clone(id), w.per, w.start}); s.pending[cid] == nil {
			s.pending[cid] = &sharedCounter{synced: values[i], w: w}
		}
	}
	s.mu.Unlock()
	return nil
}

// count counts a request in batched mode unless a window is exhausted.
// With ws nil it only uses counters that exist and reports false, having
// counted nothing, when one is missing; with ws (the request's windows)
// it creates the missing ones.
func (s *sharedPolicy) count(u usage, id string, ws []window) (usage, bool) {
	pers := s.p.periods
	var cs [numPeriods]*sharedCounter
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, per := range pers {
		cid := counterID{id, per, u.starts[per]}
		c := s.pending[cid]
		if c == nil {
			if ws == nil {
				return u, false
			}
			c = &sharedCounter{w: ws[i]}
			cid.id = strings.Clone(id) // id may view a buffer the node reuses
			s.pending[cid] = c
		}
		cs[i] = c
	}
	s.lastNow = max(s.lastNow, u.starts[Second])
	for i, per := range pers {
		c := cs[i]
		u.count[per] = c.synced + c.delta
		if u.stop < 0 && s.p.limits[per]-float64(u.count[per]) <= 0 {
			u.stop = per
		}
	}
	if u.stop < 0 {
		for _, c := range cs[:len(pers)] {
			c.delta++
		}
	}
	return u, true
}

func (s *sharedPolicy) syncLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			s.flush() // send what was counted
			return
		case <-t.C:
			s.flush()
		}
	}
}

// flush sends the local increments to the server and reads the counters
// back (counters without increments are sent a zero, to see other nodes'
// counts); counters of ended windows are dropped.
func (s *sharedPolicy) flush() {
	s.mu.Lock()
	starts := windowStarts(s.lastNow)
	ws := make([]window, 0, len(s.pending))
	ids := make([]counterID, 0, len(s.pending))
	sent := make([]int64, 0, len(s.pending))
	for cid, c := range s.pending {
		if c.w.start < starts[c.w.per] && c.delta == 0 {
			delete(s.pending, cid)
			continue
		}
		ws = append(ws, c.w)
		ids = append(ids, cid)
		sent = append(sent, c.delta)
	}
	s.mu.Unlock()
	if len(ws) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	values, err := s.server.add(ctx, ws, sent)
	if err != nil || len(values) != len(ws) {
		return // kept: the next flush sends the increments again
	}
	s.mu.Lock()
	for i := range ws {
		if c := s.pending[ids[i]]; c != nil {
			c.delta -= sent[i]
			c.synced = values[i]
		}
	}
	s.mu.Unlock()
}

func (s *sharedPolicy) close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	return s.server.close()
}
