package threat

import (
	"hash/maphash"
	"sync"
	"time"
)

// Limits are the limits of one key (the whole gateway for dos, a client
// address for dos_by_ip): a negative value is unlimited.
type Limits struct {
	// MaxRequests per Window.
	MaxRequests int
	Window      time.Duration
	// MaxInProgress bounds the requests admitted and not yet Done.
	MaxInProgress int
	// Block is how long a key that went over MaxRequests stays refused
	// (0: only for the rest of the window).
	Block time.Duration
}

// Verdict is what Admit decided.
type Verdict uint8

const (
	// Admitted: the request counts as in progress until Done.
	Admitted Verdict = iota
	// Blocked: the key is blocked (an earlier crossing); not counted.
	Blocked
	// OverRate: this request went over MaxRequests (and started the
	// block, if any).
	OverRate
	// OverInProgress: MaxInProgress requests are already in progress.
	OverInProgress
	// Untracked: the limiter holds too many keys to track this one; the
	// request is admitted and needs no Done.
	Untracked
)

// DefaultMaxKeys bounds the keys a Limiter tracks.
const DefaultMaxKeys = 1 << 17

const shards = 64

// Limiter keeps request counts, in-progress counts and blocks per key,
// in fixed windows that start at a key's first request. Memory is bounded
// (MaxKeys); idle keys are swept when a shard fills. Safe for concurrent
// use.
type Limiter struct {
	seed     maphash.Seed
	perShard int
	shard    [shards]limShard
}

type limShard struct {
	mu sync.Mutex
	m  map[string]*keyState
}

type keyState struct {
	windowStart, windowEnd int64 // unix ns
	count                  int
	inflight               int
	blockedUntil           int64
}

// NewLimiter returns a limiter tracking at most maxKeys keys (<= 0:
// DefaultMaxKeys).
func NewLimiter(maxKeys int) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	l := &Limiter{seed: maphash.MakeSeed(), perShard: max(maxKeys/shards, 1)}
	for i := range l.shard {
		l.shard[i].m = map[string]*keyState{}
	}
	return l
}

func (l *Limiter) shardOf(key string) *limShard {
	return &l.shard[maphash.String(l.seed, key)%shards]
}

// get returns key's state, creating it; nil when the shard is full of
// live keys. The shard is locked.
func (s *limShard) get(key string, perShard int, now int64) *keyState {
	if ks := s.m[key]; ks != nil {
		return ks
	}
	if len(s.m) >= perShard {
		for k, ks := range s.m {
			if ks.inflight <= 0 && ks.blockedUntil <= now && ks.windowEnd <= now {
				delete(s.m, k)
			}
		}
		if len(s.m) >= perShard {
			return nil
		}
	}
	ks := &keyState{}
	s.m[key] = ks
	return ks
}

// Admit counts a request of key at now against lim. Admitted requests
// must be reported Done.
func (l *Limiter) Admit(key string, lim Limits, now time.Time) Verdict {
	t := now.UnixNano()
	s := l.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.get(key, l.perShard, t)
	if ks == nil {
		return Untracked
	}
	if ks.blockedUntil > t {
		return Blocked
	}
	if lim.MaxRequests >= 0 {
		if t >= ks.windowEnd {
			ks.windowStart, ks.windowEnd, ks.count = t, t+int64(max(lim.Window, time.Millisecond)), 0
		}
		ks.count++
		if ks.count > lim.MaxRequests {
			if lim.Block > 0 {
				ks.blockedUntil = t + int64(lim.Block)
			}
			return OverRate
		}
	}
	if lim.MaxInProgress >= 0 && ks.inflight >= lim.MaxInProgress {
		return OverInProgress
	}
	ks.inflight++
	return Admitted
}

// Done ends an Admitted request of key.
func (l *Limiter) Done(key string) {
	s := l.shardOf(key)
	s.mu.Lock()
	if ks := s.m[key]; ks != nil && ks.inflight > 0 {
		ks.inflight--
	}
	s.mu.Unlock()
}

// InProgress returns key's requests in progress.
func (l *Limiter) InProgress(key string) int {
	s := l.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ks := s.m[key]; ks != nil {
		return ks.inflight
	}
	return 0
}

// BlockedUntil returns when key's block ends (zero time: not blocked at
// now).
func (l *Limiter) BlockedUntil(key string, now time.Time) time.Time {
	s := l.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ks := s.m[key]; ks != nil && ks.blockedUntil > now.UnixNano() {
		return time.Unix(0, ks.blockedUntil)
	}
	return time.Time{}
}

// Fail counts a failure (auth_lockout) of key at now: more than max
// failures within window blocks key for block, and Fail reports true for
// the failure that started the block.
func (l *Limiter) Fail(key string, maxFailures int, window, block time.Duration, now time.Time) bool {
	if maxFailures < 0 {
		return false
	}
	t := now.UnixNano()
	s := l.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.get(key, l.perShard, t)
	if ks == nil || ks.blockedUntil > t {
		return false
	}
	if t >= ks.windowEnd {
		ks.windowStart, ks.windowEnd, ks.count = t, t+int64(max(window, time.Millisecond)), 0
	}
	ks.count++
	if ks.count >= maxFailures {
		ks.blockedUntil = t + int64(max(block, time.Millisecond))
		ks.count = 0
		if ks.windowEnd < ks.blockedUntil {
			ks.windowEnd = ks.blockedUntil
		}
		return true
	}
	return false
}

// Len counts the keys tracked.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shard {
		l.shard[i].mu.Lock()
		n += len(l.shard[i].m)
		l.shard[i].mu.Unlock()
	}
	return n
}
