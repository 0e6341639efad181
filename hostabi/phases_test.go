package hostabi_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// TestPhaseTable checks rows of the table against Kong's PDK phase checks.
func TestPhaseTable(t *testing.T) {
	cases := []struct {
		op      hostabi.Op
		allowed []hostabi.Phase
	}{
		{hostabi.OpResponseExit, []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseResponse, hostabi.PhaseHeaderFilter}},
		{hostabi.OpResponseStatus, []hostabi.Phase{hostabi.PhaseResponse, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter, hostabi.PhaseLog}},
		{hostabi.OpClientAuthenticate, []hostabi.Phase{hostabi.PhaseAccess}},
		{hostabi.OpServiceSetUpstream, []hostabi.Phase{hostabi.PhaseAccess}},
		{hostabi.OpServiceRequestSetHeader, []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess}},
		{hostabi.OpRequestRawBody, []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseResponse}},
		{hostabi.OpRouterRoute, []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseResponse, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter, hostabi.PhaseLog}},
		{hostabi.OpRequestHeader, []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseResponse, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter, hostabi.PhaseLog}},
	}
	for _, c := range cases {
		want := hostabi.Phases(c.allowed...)
		if got := c.op.Phases(); got != want {
			t.Errorf("%s: phases %s, want %s", c.op, got, want)
		}
		for p := hostabi.PhaseRewrite; p <= hostabi.PhaseLog; p++ {
			if hostabi.Allowed(c.op, p) != want.Has(p) {
				t.Errorf("%s in %s: Allowed = %v", c.op, p, !want.Has(p))
			}
		}
	}
	names := map[string]bool{}
	for i, op := range hostabi.Operations() {
		if op.Op != hostabi.Op(i) || op.Name == "" || op.Phases == 0 {
			t.Errorf("row %d: %+v", i, op)
		}
		if names[op.Name] {
			t.Errorf("%s listed twice", op.Name)
		}
		names[op.Name] = true
	}
}

func TestCheckPanicsWithPhaseError(t *testing.T) {
	hostabi.Check(hostabi.OpResponseExit, hostabi.PhaseAccess) // allowed: no panic
	defer func() {
		pe, ok := recover().(*hostabi.PhaseError)
		if !ok {
			t.Fatalf("no *PhaseError panic")
		}
		want := "kong.response.exit cannot be called in log phase (only in: rewrite, access, response, header_filter)"
		if pe.Error() != want {
			t.Errorf("message %q, want %q", pe.Error(), want)
		}
	}()
	hostabi.Check(hostabi.OpResponseExit, hostabi.PhaseLog)
}

type recResponse struct {
	hostabi.Response
	status  int
	body    []byte
	headers map[string]string
}

func (r *recResponse) Exit(status int, body []byte, headers map[string]string) {
	r.status, r.body, r.headers = status, body, headers
}

func TestJSONExit(t *testing.T) {
	r := &recResponse{}
	hostabi.JSONExit(r, 401, map[string]string{"message": "no"}, map[string]string{"WWW-Authenticate": "Basic"})
	if r.status != 401 || string(r.body) != `{"message":"no"}` || r.headers["Content-Type"] != "application/json; charset=utf-8" || r.headers["WWW-Authenticate"] != "Basic" {
		t.Errorf("%d %s %v", r.status, r.body, r.headers)
	}
	hostabi.JSONExit(r, 200, []int{1}, map[string]string{"content-type": "application/problem+json"})
	if len(r.headers) != 1 || r.headers["content-type"] != "application/problem+json" {
		t.Errorf("own content type replaced: %v", r.headers)
	}
	hostabi.JSONExit(r, 200, func() {}, nil)
	if r.status != 500 || !strings.Contains(string(r.body), "unexpected") {
		t.Errorf("unencodable value: %d %s", r.status, r.body)
	}
}

func TestErrorBody(t *testing.T) {
	cases := []struct{ accept, ct, body string }{
		{"", "application/json; charset=utf-8", `{"message":"Forbidden \"x\"","request_id":"r1"}`},
		{"text/plain", "text/plain; charset=utf-8", "Forbidden \"x\"\nrequest_id: r1\n"},
		{"application/xml", "application/xml; charset=utf-8", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>Forbidden \"x\"</message>\n  <requestid>r1</requestid>\n</error>\n"},
	}
	for _, c := range cases {
		ct, body := hostabi.ErrorBody(c.accept, `Forbidden "x"`, "r1")
		if ct != c.ct || body != c.body {
			t.Errorf("%q: %q %q", c.accept, ct, body)
		}
	}
	if ct, _ := hostabi.ErrorBody("text/html", "m", "r"); ct != "text/html; charset=utf-8" {
		t.Errorf("html: %s", ct)
	}
	if hostabi.ErrorMessage(403) != "Forbidden" || hostabi.ErrorMessage(599) != "The upstream server responded with 599" {
		t.Error("default messages")
	}
}

// memCache is a minimal hostabi.Cache with host-side load-once, to test
// GetOrLoad against the contract.
type memCache struct {
	hostabi.Cache
	mu     sync.Mutex
	vals   map[string]any
	leases map[string]chan struct{}
	errs   map[string]error
}

func (c *memCache) Lookup(ctx context.Context, key string) (any, bool, bool, error) {
	for {
		c.mu.Lock()
		if v, ok := c.vals[key]; ok {
			c.mu.Unlock()
			return v, true, false, nil
		}
		l, ok := c.leases[key]
		if !ok {
			c.leases[key] = make(chan struct{})
			c.mu.Unlock()
			return nil, false, true, nil
		}
		c.mu.Unlock()
		select {
		case <-l:
			c.mu.Lock()
			err := c.errs[key]
			c.mu.Unlock()
			if err != nil {
				return nil, false, false, err
			}
		case <-ctx.Done():
			return nil, false, false, ctx.Err()
		}
	}
}

func (c *memCache) Fill(key string, v any, _ time.Duration) {
	c.mu.Lock()
	c.vals[key] = v
	l := c.leases[key]
	delete(c.leases, key)
	c.mu.Unlock()
	close(l)
}

func (c *memCache) Abandon(key string, err error) {
	c.mu.Lock()
	c.errs[key] = err
	l := c.leases[key]
	delete(c.leases, key)
	c.mu.Unlock()
	close(l)
}

func TestGetOrLoad(t *testing.T) {
	c := &memCache{vals: map[string]any{}, leases: map[string]chan struct{}{}, errs: map[string]error{}}
	var loads atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := hostabi.GetOrLoad(context.Background(), c, "k", time.Minute, func() (any, error) {
				loads.Add(1)
				time.Sleep(10 * time.Millisecond)
				return "v", nil
			})
			if v != "v" || err != nil {
				t.Errorf("got %v %v", v, err)
			}
		}()
	}
	wg.Wait()
	if loads.Load() != 1 {
		t.Errorf("loads = %d", loads.Load())
	}
	boom := errors.New("boom")
	if _, err := hostabi.GetOrLoad(context.Background(), c, "e", 0, func() (any, error) { return nil, boom }); err != boom {
		t.Errorf("load error %v", err)
	}
	func() {
		defer func() { recover() }()
		hostabi.GetOrLoad(context.Background(), c, "p", 0, func() (any, error) { panic("x") })
	}()
	if _, ok := c.leases["p"]; ok {
		t.Error("a panicking load kept its lease")
	}
}

func TestLogRecordMap(t *testing.T) {
	r := hostabi.LogRecord{Method: "GET", URI: "/p?x=1", Query: map[string][]string{"x": {"1"}, "y": {"1", "2"}},
		RequestHeaders: map[string][]string{"Authorization": {"Basic x"}, "X-A": {"1", "2"}},
		Status:         200, ProxyLatency: -1, Credential: hostabi.Entity{"id": "c1"}, Route: hostabi.Entity{"id": "r"},
		StartedAt: time.UnixMilli(1234)}
	m := r.Map([]hostabi.SerializeValue{{Key: "a.b", Value: 1}, {Key: `c\.d`, Value: 2}, {Key: "route", Value: nil}, {Key: "response.status", Value: 201}})
	req := m["request"].(map[string]any)
	h := req["headers"].(map[string]any)
	if h["authorization"] != "REDACTED" || len(h["x-a"].([]any)) != 2 || req["querystring"].(map[string]any)["x"] != "1" {
		t.Errorf("request %v", req)
	}
	if m["a"].(map[string]any)["b"] != 1 || m["c.d"] != 2 || m["route"] != nil || m["response"].(map[string]any)["status"] != 201 {
		t.Errorf("edits not applied: %v", m)
	}
	if m["latencies"].(map[string]any)["proxy"] != int64(-1) || m["started_at"] != int64(1234) ||
		m["authenticated_entity"].(map[string]any)["id"] != "c1" {
		t.Errorf("record %v", m)
	}
}
