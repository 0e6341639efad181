package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

func TestRedactSecrets(t *testing.T) {
	tests := []struct {
		name   string
		in     map[string]any
		schema map[string]bool
		want   map[string]any
	}{
		{"credential fields", map[string]any{"id": "1", "key": "k", "password": "p", "username": "u"}, nil,
			map[string]any{"id": "1", "username": "u"}},
		{"schema secrets", map[string]any{"id": "1", "cert": "c", "pem": "x"}, map[string]bool{"pem": true},
			map[string]any{"id": "1", "cert": "c"}},
		{"nested plugin config", map[string]any{"config": map[string]any{"redis": map[string]any{"host": "h", "redis_password": "p"},
			"list": []any{map[string]any{"client_secret": "s", "n": 1.0}}}},
			nil, map[string]any{"config": map[string]any{"redis": map[string]any{"host": "h"}, "list": []any{map[string]any{"n": 1.0}}}}},
		{"token and cache key", map[string]any{"access_token": "a", "cache_key": "keyauth:k", "Authorization": "b", "name": "n"}, nil,
			map[string]any{"name": "n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redactSecrets(tc.in, tc.schema); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRedactPathKey(t *testing.T) {
	tests := []struct{ path, key, want string }{
		{"/key-auths/s3cr3t", "s3cr3t", "/key-auths/{redacted}"},
		{"/consumers/alice/key-auth/a%2Fb", "a/b", "/consumers/alice/key-auth/{redacted}"},
		{"/consumers/alice/key-auth/x", "y", "/consumers/alice/key-auth/x"},
	}
	for _, tc := range tests {
		if got := redactPathKey(tc.path, tc.key); got != tc.want {
			t.Errorf("redactPathKey(%q, %q) = %q, want %q", tc.path, tc.key, got, tc.want)
		}
	}
}

// FuzzAuditQuery sends arbitrary query strings to the audit endpoints: the
// answer is a 200 page or a 400, never a 5xx nor a panic.
func FuzzAuditQuery(f *testing.F) {
	for _, q := range []string{"size=2", "offset=zzz", "after=1&before=2", "status=201&method=POST", "size=-1", "before=x", "size=1001", "%zz=1"} {
		f.Add(q)
	}
	bk, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		f.Fatal(err)
	}
	defer bk.Close()
	st := store.New(bk, store.Options{})
	for i := 0; i < 3; i++ {
		if _, err := st.RecordAudit(context.Background(), store.AuditRequests, map[string]any{
			"request_timestamp": time.Now().Unix(), "method": "POST", "status": 201}, time.Time{}); err != nil {
			f.Fatal(err)
		}
	}
	s := New(Options{Store: st, Audit: AuditOptions{Enabled: true}})
	f.Fuzz(func(t *testing.T, q string) {
		for _, p := range []string{"/audit/requests", "/audit/objects"} {
			req := httptest.NewRequest("GET", p, nil)
			req.URL.RawQuery = url.PathEscape(q)
			req.RequestURI = ""
			res, err := s.App().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 && res.StatusCode != 400 {
				t.Fatalf("GET %s?%s: %d %s", p, q, res.StatusCode, b)
			}
			if res.StatusCode == 200 {
				var page struct {
					Data []map[string]any `json:"data"`
				}
				if err := json.Unmarshal(b, &page); err != nil || page.Data == nil {
					t.Fatalf("GET %s?%s: bad page %s", p, q, b)
				}
			}
		}
	})
}

// TestLoggedPathRedactsSecrets: a call that fails with a 500 on a path
// naming a credential by its secret key logs the path without the secret.
func TestLoggedPathRedactsSecrets(t *testing.T) {
	bk, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(bk, store.Options{Entities: []*store.Entity{keyauth.Credentials()}})
	var logs bytes.Buffer
	s := New(Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	bk.Close() // every store call now fails: the handlers answer 500
	const secret = "k3y-that-must-not-be-logged"
	for _, tc := range []struct{ method, path string }{
		{"GET", "/key-auths/" + secret},
		{"PATCH", "/key-auths/" + secret},
		{"GET", "/consumers/alice/key-auth/" + secret},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"tags":["a"]}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 500 {
			t.Fatalf("%s %s: %d, want 500 from the closed database", tc.method, tc.path, res.StatusCode)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("the secret key appears in the logs:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "{redacted}"); n != 3 {
		t.Fatalf("%d redacted paths logged, want 3:\n%s", n, logs.String())
	}
}
