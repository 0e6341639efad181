package httplog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func qconf(batch int64, delay float64, entries int64) QueueConfig {
	return QueueConfig{MaxBatchSize: batch, MaxCoalescingDelay: delay, MaxEntries: entries, MaxRetryTime: 60,
		InitialRetryDelay: 0.001, MaxRetryDelay: 0.01, ConcurrencyLimit: 1}
}

// TestQueueBatches: entries are delivered in batches of max_batch_size,
// and a partial batch goes once max_coalescing_delay passed.
func TestQueueBatches(t *testing.T) {
	cases := []struct {
		name  string
		batch int64
		delay float64
		add   int
		sizes []int
	}{
		{"one by one", 1, 1, 3, []int{1, 1, 1}},
		{"full batches", 2, 30, 4, []int{2, 2}},
		{"partial after the delay", 3, 0.05, 2, []int{2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var sizes []int
			gate := make(chan struct{})
			q := NewQueue(qconf(tc.batch, tc.delay, 100), func(b [][]byte) error {
				<-gate
				mu.Lock()
				sizes = append(sizes, len(b))
				mu.Unlock()
				return nil
			}, nil)
			// The handler waits for the gate, so the entries queue up
			// behind the first batch (one by one) or fill batches.
			for i := 0; i < tc.add; i++ {
				if !q.Add([]byte(`{}`)) {
					t.Fatal("refused")
				}
			}
			close(gate)
			total := 0
			for _, s := range tc.sizes {
				total += s
			}
			waitFor(t, "delivery", func() bool {
				mu.Lock()
				defer mu.Unlock()
				n := 0
				for _, s := range sizes {
					n += s
				}
				return n == total
			})
			mu.Lock()
			defer mu.Unlock()
			if len(sizes) != len(tc.sizes) {
				t.Fatalf("batches %v, want %v", sizes, tc.sizes)
			}
			for i := range sizes {
				if sizes[i] != tc.sizes[i] {
					t.Fatalf("batches %v, want %v", sizes, tc.sizes)
				}
			}
		})
	}
}

// TestQueueBounded: beyond max_entries (or max_bytes) entries are dropped
// and counted; Add never blocks even when the handler hangs.
func TestQueueBounded(t *testing.T) {
	maxBytes := int64(10)
	cases := []struct {
		name     string
		conf     QueueConfig
		entry    string
		add      int
		accepted int
	}{
		{"max_entries", qconf(1, 0, 3), "x", 10, 4}, // one taken by the hanging handler, 3 waiting
		{"max_bytes", func() QueueConfig { c := qconf(1, 0, 100); c.MaxBytes = &maxBytes; return c }(), "12345", 10, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hang := make(chan struct{})
			defer close(hang)
			var dropped atomic.Int64
			taken := make(chan struct{}, 1)
			q := NewQueue(tc.conf, func([][]byte) error {
				select {
				case taken <- struct{}{}:
				default:
				}
				<-hang
				return nil
			}, func(n int, reason string) {
				if reason == "queue_full" {
					dropped.Add(int64(n))
				}
			})
			q.Add([]byte(tc.entry))
			<-taken // the first entry is in the handler
			start := time.Now()
			accepted := 1
			for i := 1; i < tc.add; i++ {
				if q.Add([]byte(tc.entry)) {
					accepted++
				}
			}
			if time.Since(start) > time.Second {
				t.Fatal("Add blocked")
			}
			if accepted != tc.accepted || dropped.Load() != int64(tc.add-tc.accepted) {
				t.Fatalf("accepted %d dropped %d", accepted, dropped.Load())
			}
		})
	}
}

// TestQueueRetries: a failing batch is retried until it succeeds, or
// dropped once max_retry_time is spent.
func TestQueueRetries(t *testing.T) {
	cases := []struct {
		name      string
		failures  int
		retryTime float64
		delivered bool
	}{
		{"succeeds on the third try", 2, 60, true},
		{"gives up", 1 << 30, 0.05, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			var ok, gaveUp atomic.Bool
			c := qconf(1, 0, 10)
			c.MaxRetryTime = tc.retryTime
			q := NewQueue(c, func([][]byte) error {
				if calls.Add(1) <= int64(tc.failures) {
					return errors.New("down")
				}
				ok.Store(true)
				return nil
			}, func(n int, reason string) { gaveUp.Store(reason == "retries_exhausted") })
			q.Add([]byte("x"))
			waitFor(t, "outcome", func() bool { return ok.Load() || gaveUp.Load() })
			if ok.Load() != tc.delivered || (tc.delivered && calls.Load() != int64(tc.failures+1)) {
				t.Fatalf("delivered %v after %d calls", ok.Load(), calls.Load())
			}
		})
	}
}

// TestSend: the request Kong's http-log sends: method, content type,
// basic auth from user info, custom headers, a single object or an array.
func TestSend(t *testing.T) {
	type got struct {
		method, ctype, auth, custom string
		body                        []byte
	}
	ch := make(chan got, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("X-Custom"), b}
	}))
	defer srv.Close()
	cases := []struct {
		name   string
		config map[string]any
		want   got
	}{
		{"defaults", map[string]any{"http_endpoint": srv.URL + "/log"},
			got{method: "POST", ctype: "application/json", body: []byte(`{"a":1}`)}},
		{"put with user info and headers", map[string]any{"http_endpoint": "http://u:p@" + srv.Listener.Addr().String() + "/l",
			"method": "PUT", "content_type": "application/json; charset=utf-8", "headers": map[string]any{"X-Custom": "v"}},
			got{method: "PUT", ctype: "application/json; charset=utf-8", auth: "Basic dTpw", custom: "v", body: []byte(`{"a":1}`)}},
		{"batched", map[string]any{"http_endpoint": srv.URL + "/b", "queue": map[string]any{"max_batch_size": 2, "max_coalescing_delay": 5}},
			got{method: "POST", ctype: "application/json", body: []byte(`[{"a":1},{"a":1}]`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(tc.config)
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPlugin(c)
			if err != nil {
				t.Fatal(err)
			}
			n := 1
			if c.Queue.MaxBatchSize == 2 {
				n = 2
			}
			for i := 0; i < n; i++ {
				p.Queue().Add([]byte(`{"a":1}`))
			}
			select {
			case g := <-ch:
				if g.method != tc.want.method || g.ctype != tc.want.ctype || g.auth != tc.want.auth ||
					g.custom != tc.want.custom || string(g.body) != string(tc.want.body) {
					t.Fatalf("got %+v (%s), want %+v (%s)", g, g.body, tc.want, tc.want.body)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("nothing sent")
			}
		})
	}
}

// TestLogSerializes: the log phase queues Kong's log record as JSON.
func TestLogSerializes(t *testing.T) {
	ch := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		ch <- m
	}))
	defer srv.Close()
	inst := plugintest.New(t, Schema(), New, map[string]any{"http_endpoint": srv.URL})
	req := plugintest.NewRequest("GET", "/orders?x=1").WithHeader("authorization", "secret")
	req.Route = hostabi.Entity{"id": "r-1"}
	plugintest.Run(t, inst, hostabi.PhaseLog, req)
	select {
	case m := <-ch:
		rq, _ := m["request"].(map[string]any)
		hs, _ := rq["headers"].(map[string]any)
		if rq["uri"] != "/orders?x=1" || hs["authorization"] != "REDACTED" || m["route"].(map[string]any)["id"] != "r-1" {
			t.Fatalf("record %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing sent")
	}
}

// TestLuaRefused: custom_fields_by_lua is refused with a clear message.
func TestLuaRefused(t *testing.T) {
	_, errs := plugintest.ValidateConfig(Schema(), map[string]any{"http_endpoint": "http://h/x",
		"custom_fields_by_lua": map[string]any{"f": "return 1"}})
	if !strings.Contains(fmt.Sprint(errs), "custom_fields_by_lua is not supported") {
		t.Fatalf("errors %v", errs)
	}
}

// BenchmarkLog measures the log phase: serialize, encode, queue (the
// endpoint is a discarding server).
func BenchmarkLog(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	c, err := ParseConfig(map[string]any{"http_endpoint": srv.URL + "/bench", "queue": map[string]any{"max_batch_size": 100, "max_coalescing_delay": 0.1}})
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPlugin(c)
	if err != nil {
		b.Fatal(err)
	}
	req := plugintest.NewRequest("GET", "/orders").WithHeader("accept", "*/*")
	req.Route = hostabi.Entity{"id": "r-1", "name": "orders"}
	k := plugintest.NewEnv().NewKong(req)
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseLog); err != nil {
			b.Fatal(err)
		}
	}
}

// TestQueueConcurrency: with concurrency_limit 1 a hanging batch holds
// the next back; with -1 both are in flight at once.
func TestQueueConcurrency(t *testing.T) {
	for _, tc := range []struct {
		limit    int64
		inFlight int64
	}{{1, 1}, {-1, 2}} {
		hang := make(chan struct{})
		var cur, peak atomic.Int64
		c := qconf(1, 0, 10)
		c.ConcurrencyLimit = tc.limit
		q := NewQueue(c, func([][]byte) error {
			n := cur.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-hang
			cur.Add(-1)
			return nil
		}, nil)
		q.Add([]byte("a"))
		q.Add([]byte("b"))
		waitFor(t, "the first batch in flight", func() bool { return peak.Load() >= 1 })
		time.Sleep(50 * time.Millisecond)
		if peak.Load() != tc.inFlight {
			t.Errorf("limit %d: %d in flight, want %d", tc.limit, peak.Load(), tc.inFlight)
		}
		close(hang)
	}
}
