package luaplugins_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestKongTour calls the kong PDK functions beyond the host ABI's
// operation table (conformance/abi covers those over HTTP) inside a real
// request through the proxy.
func TestKongTour(t *testing.T) {
	nd := start(t, "kong-tour")
	nd.form("POST", "/services", "name=s", "url=http://127.0.0.1:9/")
	nd.form("POST", "/services/s/routes", "name=tour", "paths=/tour")
	nd.form("POST", "/consumers", "username=tourist")
	nd.form("POST", "/consumers/tourist/acls", "group=travellers")
	nd.form("POST", "/routes/tour/plugins", "name=kong-tour", "config.label=visit")
	deadline := time.Now().Add(5 * time.Second)
	var status int
	var body []byte
	for {
		req, _ := http.NewRequest("POST", nd.proxy+"/tour/a?x=1", strings.NewReader(`{"name":"ada"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		status = res.StatusCode
		if status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("tour: %d %s", status, body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	want := map[string]any{
		"table":         map[string]any{"cleared": true, "merged": 2.0},
		"inspect":       true,
		"request":       map[string]any{"path_with_query": "/tour/a?x=1", "start": true, "forwarded_path": "/tour/a"},
		"body":          map[string]any{"name": "ada", "mime": "application/json"},
		"configuration": map[string]any{"database": "sqlite", "has_plugins": true},
		"cache":         map[string]any{"label": "visit", "probed": "visit", "invalidated": true},
		"identity":      map[string]any{"consumer": "tourist", "credential": "cred-1"},
		"groups":        map[string]any{"first": "travellers", "by_name": "travellers"},
		"singletons":    map[string]any{"count": 1.0, "group": "travellers", "legacy_fk": true},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s:\n got %#v\nwant %#v", k, got[k], w)
		}
	}
}
