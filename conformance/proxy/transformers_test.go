package proxy_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"testing"
)

// TestResponseTransformer over real HTTP: an upstream JSON response, sent
// with a Content-Length or chunked, reaches the client with the header and
// JSON rules applied and a length that matches the new body; a non-JSON
// response only gets the header rules; the plugin configured in Kong's
// form syntax through the Admin API.
func TestResponseTransformer(t *testing.T) {
	up := startUpstream(t, "json", func(w http.ResponseWriter, r *http.Request) {
		body := []byte(`{"id":7,"secret":"s","name":"n","tags":["a"]}`)
		switch r.URL.Path {
		case "/json/text":
			w.Header().Set("Content-Type", "text/plain")
			body = []byte("plain text")
		default:
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("X-Internal", "hide me")
		if r.URL.Path == "/json/chunked" {
			w.WriteHeader(200)
			w.Write(body[:10])
			w.(http.Flusher).Flush()
			w.Write(body[10:])
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=json", "url=http://"+up.addr)
	nd.configure("POST", "/services/json/routes", "paths=/json", "strip_path=false")
	nd.configure("POST", "/services/json/plugins", "name=response-transformer",
		"config.remove.headers=X-Internal", "config.add.headers=X-Added:yes",
		"config.remove.json=secret", "config.rename.json=name:title",
		"config.add.json=version:2", "config.add.json_types=number",
		"config.append.json=tags:b")

	want := map[string]any{"id": 7.0, "title": "n", "tags": []any{"a", "b"}, "version": 2.0}
	for _, path := range []string{"/json/length", "/json/chunked"} {
		r := nd.request("GET", path, nil, nil)
		if r.status != 200 || r.header.Get("X-Internal") != "" || r.header.Get("X-Added") != "yes" {
			t.Fatalf("%s: %d headers %v", path, r.status, r.header)
		}
		var got map[string]any
		if err := json.Unmarshal(r.body, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: body %s (%v), want %v", path, r.body, err, want)
		}
		if cl := r.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(r.body)) {
			t.Fatalf("%s: Content-Length %s for %d bytes", path, cl, len(r.body))
		}
	}
	r := nd.request("GET", "/json/text", nil, nil)
	if r.status != 200 || string(r.body) != "plain text" || r.header.Get("X-Added") != "yes" || r.header.Get("X-Internal") != "" {
		t.Fatalf("text response: %d %q %v", r.status, r.body, r.header)
	}

	// Kong's schema errors on the Admin API.
	form := url.Values{"name": {"response-transformer"}, "config.add.json_types": {"object"}}
	res, err := http.PostForm(nd.admin+"/plugins", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 400 || body["name"] != "schema violation" {
		t.Fatalf("bad json_types: %d %v", res.StatusCode, body)
	}
}
