package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// DefaultHTTPTimeout bounds an outbound request that sets no Timeout.
const DefaultHTTPTimeout = 60 * time.Second

// HTTPClient is hostabi.HTTP over net/http, for every host.
type HTTPClient struct {
	// Client sends the requests; nil uses http.DefaultClient.
	Client *http.Client
}

// Do implements hostabi.HTTP.
func (c HTTPClient) Do(ctx context.Context, r hostabi.HTTPRequest) (hostabi.HTTPResponse, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return hostabi.HTTPResponse{}, fmt.Errorf("outbound request: %w", err)
	}
	for n, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(n, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return hostabi.HTTPResponse{}, fmt.Errorf("outbound request to %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, hostabi.MaxHTTPBody+1))
	if err != nil {
		return hostabi.HTTPResponse{}, fmt.Errorf("outbound request to %s: reading the body: %w", r.URL, err)
	}
	if len(body) > hostabi.MaxHTTPBody {
		return hostabi.HTTPResponse{}, fmt.Errorf("outbound request to %s: %w", r.URL, errBodyTooLarge)
	}
	out := hostabi.HTTPResponse{Status: resp.StatusCode, Header: make(map[string][]string, len(resp.Header)), Body: body}
	for n, vs := range resp.Header {
		out.Header[strings.ToLower(n)] = vs
	}
	return out, nil
}

var errBodyTooLarge = errors.New("the response body is larger than hostabi.MaxHTTPBody")

// Timers is hostabi.Timers on a Pool: each timer's work gets a context
// with a deadline of Budget from its start and the HTTP client. A panic
// in the work is recovered and reported to OnFault.
type Timers struct {
	pool   *Pool[timerJob]
	http   hostabi.HTTP
	budget time.Duration
	// OnFault is called with a timer's recovered panic.
	OnFault func(plugin string, v any)
}

type timerJob struct {
	plugin string
	fn     func(ctx context.Context, h hostabi.HTTP)
}

// ErrTimersFull is After's error when the timer queue is full.
var ErrTimersFull = errors.New("timers: the queue is full; the work was dropped")

// NewTimers returns timers running on at most workers goroutines with a
// queue of queue items (see NewPool), each with budget to finish.
func NewTimers(workers, queue int, budget time.Duration, h hostabi.HTTP) *Timers {
	t := &Timers{http: h, budget: budget}
	t.pool = NewPool(workers, queue, t.run)
	return t
}

func (t *Timers) run(j timerJob) {
	ctx := NewContext(time.Now().Add(t.budget))
	defer ctx.End()
	defer func() {
		if r := recover(); r != nil && t.OnFault != nil {
			t.OnFault(j.plugin, r)
		}
	}()
	j.fn(ctx, t.http)
}

// After runs fn after delay for the named plugin. A timer due now that
// finds the queue full is refused with ErrTimersFull; a later one that
// does is dropped and counted in Stats.
func (t *Timers) After(plugin string, delay time.Duration, fn func(ctx context.Context, h hostabi.HTTP)) error {
	j := timerJob{plugin: plugin, fn: fn}
	if delay <= 0 {
		if !t.pool.Submit(j) {
			return ErrTimersFull
		}
		return nil
	}
	time.AfterFunc(delay, func() { t.pool.Submit(j) })
	return nil
}

// Stats reports the timers' counters.
func (t *Timers) Stats() PoolStats { return t.pool.Stats() }
