// Package audit_test drives the Admin API audit log through real nodes over
// 127.0.0.1 on SQLite: writes and refusals recorded with their method,
// path, status and entity, reads not recorded, Kong's filters and paging on
// /audit/requests and /audit/objects, read-only endpoints, secrets absent
// from the records and the node's logs, and expiry by audit_log_ttl.
package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/store"
)

type env struct {
	t     *testing.T
	admin string
	logs  *testnode.LogBuffer
	c     *http.Client
}

func start(t *testing.T, settings map[string]string) *env {
	logs := &testnode.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := map[string]string{"audit_log": "on", "log_level": "debug"}
	for k, v := range settings {
		s[k] = v
	}
	n := testnode.StartWith(t, s, app.Options{Logger: log})
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	t.Cleanup(c.CloseIdleConnections)
	return &env{t: t, admin: "http://" + n.Addr("admin"), logs: logs, c: c}
}

// call sends a JSON request (body nil: none) and returns status, body and
// the audit request id header.
func (e *env) call(method, path string, body any) (int, []byte, string) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.admin+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer header-secret-should-not-leak")
	req.Header.Set("Kong-Admin-Token", "admin-token-should-not-leak")
	res, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header.Get("X-Kong-Admin-Request-ID")
}

func (e *env) must(method, path string, body any, status int) map[string]any {
	e.t.Helper()
	code, b, _ := e.call(method, path, body)
	if code != status {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, status)
	}
	out := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return out
}

// page is one audit list answer.
type page struct {
	Data   []map[string]any `json:"data"`
	Next   *string          `json:"next"`
	Offset string           `json:"offset"`
}

func (e *env) list(path string) (page, []byte) {
	e.t.Helper()
	code, b, _ := e.call("GET", path, nil)
	if code != 200 {
		e.t.Fatalf("GET %s: %d %s", path, code, b)
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return p, b
}

func TestAuditRequests(t *testing.T) {
	e := start(t, nil)
	e.must("GET", "/services", nil, 200) // reads are not recorded
	svc := e.must("POST", "/services", map[string]any{"name": "s1", "url": "http://127.0.0.1:9"}, 201)
	sid := svc["id"].(string)
	code, _, failedID := e.call("POST", "/services", map[string]any{"name": "bad", "url": "not a url"})
	if code != 400 || failedID == "" {
		t.Fatalf("bad create: %d, request id %q", code, failedID)
	}
	e.must("PATCH", "/services/s1", map[string]any{"retries": 3}, 200)
	e.must("GET", "/services/s1", nil, 200)
	e.must("DELETE", "/services/"+sid, nil, 204)

	p, _ := e.list("/audit/requests")
	type want struct {
		method, path string
		status       float64
		entityID     any
		action       string
	}
	wants := []want{
		{"POST", "/services", 201, sid, "create"},
		{"POST", "/services", 400, nil, "create"},
		{"PATCH", "/services/s1", 200, sid, "update"},
		{"DELETE", "/services/" + sid, 204, sid, "delete"},
	}
	if len(p.Data) != len(wants) {
		t.Fatalf("%d records, want %d (reads must not be recorded): %v", len(p.Data), len(wants), p.Data)
	}
	for i, w := range wants {
		r := p.Data[i]
		if r["method"] != w.method || r["path"] != w.path || r["status"] != w.status ||
			r["entity_id"] != w.entityID || r["action"] != w.action || r["entity_type"] != "services" {
			t.Errorf("record %d = %v, want %+v", i, r, w)
		}
		if r["client_ip"] != "127.0.0.1" || r["rbac_user_name"] != "anonymous" {
			t.Errorf("record %d: client_ip %v, admin %v", i, r["client_ip"], r["rbac_user_name"])
		}
		if h, _ := r["payload_hash"].(string); w.method != "DELETE" && len(h) != 64 {
			t.Errorf("record %d: payload_hash %q", i, h)
		}
		if ttl, _ := r["ttl"].(float64); ttl <= 0 || ttl > 2592000 {
			t.Errorf("record %d: ttl %v, want audit_log_ttl's 30 days", i, r["ttl"])
		}
	}
	if p.Data[1]["request_id"] != failedID {
		t.Errorf("failed write's request_id %v, header %q", p.Data[1]["request_id"], failedID)
	}

	// Field filters and time filters.
	f, _ := e.list("/audit/requests?status=400")
	if len(f.Data) != 1 || f.Data[0]["request_id"] != failedID {
		t.Errorf("status=400: %v", f.Data)
	}
	f, _ = e.list("/audit/requests?method=POST&entity_id=" + sid)
	if len(f.Data) != 1 || f.Data[0]["status"] != 201.0 {
		t.Errorf("method=POST&entity_id: %v", f.Data)
	}
	now := time.Now().Unix()
	if f, _ = e.list(fmt.Sprintf("/audit/requests?after=%d", now+3600)); len(f.Data) != 0 {
		t.Errorf("after the future: %v", f.Data)
	}
	if f, _ = e.list(fmt.Sprintf("/audit/requests?before=%d", now-3600)); len(f.Data) != 0 {
		t.Errorf("before the past: %v", f.Data)
	}
	if f, _ = e.list(fmt.Sprintf("/audit/requests?after=%d&before=%d", now-3600, now+3600)); len(f.Data) != 4 {
		t.Errorf("within the hour: %d records", len(f.Data))
	}
	if code, b, _ := e.call("GET", "/audit/requests?size=0", nil); code != 400 {
		t.Errorf("size=0: %d %s", code, b)
	}

	// Paging: follow next with size 3.
	var seen []any
	next := "/audit/requests?size=3"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		pg, _ := e.list(next)
		for _, r := range pg.Data {
			seen = append(seen, r["request_id"])
		}
		next = ""
		if pg.Next != nil {
			next = *pg.Next
			if pg.Offset == "" {
				t.Error("next without offset")
			}
		}
	}
	if len(seen) != 4 || seen[1] != failedID {
		t.Errorf("paged request ids %v", seen)
	}

	// Read only: writes answer 405 and are themselves recorded with it.
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, path := range []string{"/audit/requests", "/audit/objects"} {
			if code, b, _ := e.call(m, path, map[string]any{"x": 1}); code != 405 {
				t.Errorf("%s %s: %d %s, want 405", m, path, code, b)
			}
		}
	}
	if f, _ = e.list("/audit/requests?status=405"); len(f.Data) != 8 {
		t.Errorf("405 records: %d, want 8", len(f.Data))
	}

	// Entity changes: create, update, delete of the service.
	o, _ := e.list("/audit/objects?dao_name=services&entity_key=" + sid)
	var ops []any
	for _, r := range o.Data {
		ops = append(ops, r["operation"])
		if _, ok := r["entity"].(string); !ok {
			t.Errorf("object record without entity: %v", r)
		}
	}
	if fmt.Sprint(ops) != "[create update delete]" {
		t.Errorf("object operations %v", ops)
	}
	// Each change links to the request that made it.
	for i, r := range o.Data[:min(len(o.Data), 3)] {
		want := p.Data[[]int{0, 2, 3}[i]]["request_id"]
		if r["request_id"] != want || want == nil {
			t.Errorf("object record %d request_id %v, want %v", i, r["request_id"], want)
		}
	}
}

// TestAuditNoSecrets posts credentials and checks that neither they nor
// the request headers' tokens appear in any audit record or log line.
func TestAuditNoSecrets(t *testing.T) {
	e := start(t, nil)
	const keySecret, password, oauthSecret = "kA9-very-secret-api-key", "pW7-very-secret-password", "oS3-very-secret-client"
	e.must("POST", "/consumers", map[string]any{"username": "alice"}, 201)
	e.must("POST", "/consumers/alice/key-auth", map[string]any{"key": keySecret}, 201)
	e.must("POST", "/consumers/alice/basic-auth", map[string]any{"username": "alice", "password": password}, 201)
	e.must("POST", "/consumers/alice/oauth2", map[string]any{"name": "app", "client_secret": oauthSecret,
		"redirect_uris": []string{"https://app.example/cb"}}, 201)
	// A failed write carrying the secret, too.
	if code, b, _ := e.call("POST", "/consumers/alice/key-auth", map[string]any{"key": keySecret}); code != 409 {
		t.Fatalf("duplicate key: %d %s", code, b)
	}
	// Credentials reached by their secret key: the path holds the secret.
	e.must("PATCH", "/key-auths/"+keySecret, map[string]any{"tags": []string{"t1"}}, 200)
	e.must("DELETE", "/consumers/alice/key-auth/"+keySecret, nil, 204)
	_, reqs := e.list("/audit/requests?size=1000")
	var r page
	_ = json.Unmarshal(reqs, &r)
	var redacted int
	for _, rec := range r.Data {
		if strings.Contains(rec["path"].(string), "{redacted}") {
			redacted++
		}
	}
	if redacted != 2 {
		t.Errorf("%d records with a redacted path, want 2: %s", redacted, reqs)
	}
	_, objs := e.list("/audit/objects?size=1000")
	var o page
	_ = json.Unmarshal(objs, &o)
	if len(o.Data) < 4 {
		t.Fatalf("%d object records, want the consumer and its 3 credentials", len(o.Data))
	}
	all := string(reqs) + string(objs) + e.logs.String()
	for _, secret := range []string{keySecret, password, oauthSecret, "header-secret-should-not-leak", "admin-token-should-not-leak"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q appears in the audit records or logs", secret)
		}
	}
	if !strings.Contains(string(objs), `\"username\":\"alice\"`) {
		t.Errorf("object records lost non-secret fields: %s", objs)
	}
}

// TestAuditTTL checks that records expire after audit_log_ttl.
func TestAuditTTL(t *testing.T) {
	e := start(t, map[string]string{"audit_log_ttl": "3"})
	e.must("POST", "/consumers", map[string]any{"username": "bob"}, 201)
	if p, _ := e.list("/audit/requests"); len(p.Data) != 1 {
		t.Fatalf("%d records right after the write, want 1", len(p.Data))
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, _ := e.list("/audit/requests")
		o, _ := e.list("/audit/objects")
		if len(p.Data) == 0 && len(o.Data) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("records still listed after their ttl: %v %v", p.Data, o.Data)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAuditOff checks that audit_log is off by default: no endpoints, no
// request id.
func TestAuditOff(t *testing.T) {
	n := testnode.Start(t, nil)
	e := &env{t: t, admin: "http://" + n.Addr("admin"), logs: &testnode.LogBuffer{}, c: &http.Client{}}
	e.must("POST", "/consumers", map[string]any{"username": "carol"}, 201)
	if code, b, id := e.call("GET", "/audit/requests", nil); code != 404 || id != "" {
		t.Fatalf("GET /audit/requests with audit_log off: %d %s (request id %q)", code, b, id)
	}
}

// tokenIdentifier names the caller from a Kong-Admin-Token header, as RBAC
// will; no token is anonymous.
type tokenIdentifier struct{}

func (tokenIdentifier) Identify(_ context.Context, req admin.RequestInfo) (store.Actor, error) {
	if req.Header("Kong-Admin-Token") == "admin-token-should-not-leak" {
		return store.Actor{ID: "0b8c7c7e-0000-4000-8000-000000000001", Name: "ops"}, nil
	}
	return store.Anonymous, nil
}

// readOnlyAuthorizer lets only reads of services through, and hides the
// service named "hidden" (404, as a team scope does).
type readOnlyAuthorizer struct{}

func (readOnlyAuthorizer) Authorize(_ context.Context, call admin.Call) error {
	if call.Entity == "services" && call.Key == "hidden" {
		return &admin.Refusal{Status: 404, Message: "Not found"}
	}
	if call.Entity == admin.ResourceAudit || (call.Entity == "services" && (call.Operation == admin.OpList || call.Operation == admin.OpRead)) {
		return nil
	}
	return admin.Forbidden(call.Actor, call.Operation)
}

func (readOnlyAuthorizer) Visible(context.Context, admin.Call, string, map[string]any) bool {
	return true
}

// TestAuditRefusalsAndActor checks the identified admin on each record and
// that refused calls, reads included, are recorded with their status (a
// 403, or the 404 of an entity the authorizer hides).
func TestAuditRefusalsAndActor(t *testing.T) {
	logs := &testnode.LogBuffer{}
	n := testnode.StartWith(t, map[string]string{"audit_log": "on"}, app.Options{
		Logger:          slog.New(slog.NewTextHandler(logs, nil)),
		AdminIdentifier: tokenIdentifier{}, AdminAuthorizer: readOnlyAuthorizer{}})
	e := &env{t: t, admin: "http://" + n.Addr("admin"), logs: logs, c: &http.Client{}}
	e.must("GET", "/services", nil, 200)                                          // allowed read: not recorded
	e.must("GET", "/consumers", nil, 403)                                         // refused read: recorded
	e.must("POST", "/services", map[string]any{"url": "http://127.0.0.1:9"}, 403) // refused write
	e.must("GET", "/services/hidden", nil, 404)                                   // hidden: recorded
	e.must("GET", "/services/absent", nil, 404)                                   // allowed, not found: not recorded
	p, _ := e.list("/audit/requests")
	if len(p.Data) != 3 {
		t.Fatalf("%d records, want the 3 refused calls: %v", len(p.Data), p.Data)
	}
	for i, w := range []struct {
		method, path, action string
		status               float64
	}{{"GET", "/consumers", "list", 403}, {"POST", "/services", "create", 403}, {"GET", "/services/hidden", "read", 404}} {
		r := p.Data[i]
		if r["method"] != w.method || r["path"] != w.path || r["status"] != w.status || r["action"] != w.action ||
			r["rbac_user_name"] != "ops" || r["rbac_user_id"] != "0b8c7c7e-0000-4000-8000-000000000001" {
			t.Errorf("record %d = %v, want %+v by ops", i, r, w)
		}
	}
}

// TestAuditConcurrentWrites sends writes from several keep-alive clients at
// once: every one is recorded once, with its own request id.
func TestAuditConcurrentWrites(t *testing.T) {
	e := start(t, nil)
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				b, _ := json.Marshal(map[string]any{"username": fmt.Sprintf("u%d-%d", w, i)})
				res, err := e.c.Post(e.admin+"/consumers", "application/json", bytes.NewReader(b))
				if err != nil {
					errs <- err.Error()
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					errs <- fmt.Sprintf("status %d", res.StatusCode)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p, _ := e.list("/audit/requests?method=POST&status=201&size=1000")
	ids := map[any]bool{}
	for _, r := range p.Data {
		ids[r["request_id"]] = true
	}
	if len(p.Data) != workers*each || len(ids) != workers*each {
		t.Fatalf("%d records, %d request ids; want %d", len(p.Data), len(ids), workers*each)
	}
}
