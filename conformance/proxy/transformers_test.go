package proxy_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
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

// TestCorrelationID over real HTTP: the tracker generator reads the
// connection as nginx variables describe it (server address and port,
// connection serial, requests on the connection), so two requests on one
// keep-alive connection share the serial and count 1 and 2, and a new
// connection gets another serial; the id reaches the upstream and, with
// echo_downstream, the client; a client's own id is kept.
func TestCorrelationID(t *testing.T) {
	up := startUpstream(t, "cid", nil)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=cid", "url=http://"+up.addr)
	nd.configure("POST", "/services/cid/routes", "paths=/cid")
	nd.configure("POST", "/services/cid/plugins", "name=correlation-id", "config.generator=tracker",
		"config.echo_downstream=true", "config.header_name=X-Trace")
	port := nd.proxy[strings.LastIndexByte(nd.proxy, ':')+1:]
	tracker := regexp.MustCompile(`^127\.0\.0\.1-` + port + `-[0-9]+-([0-9]+)-([0-9]+)-[0-9]+\.[0-9]{3}$`)
	get := func(c *http.Client, id string) (echoed, upstream string) {
		t.Helper()
		req, _ := http.NewRequest("GET", nd.proxy+"/cid", nil)
		if id != "" {
			req.Header.Set("X-Trace", id)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e echo
		json.NewDecoder(res.Body).Decode(&e)
		return res.Header.Get("X-Trace"), e.header("X-Trace")
	}
	var conns []string
	for i := 0; i < 2; i++ {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		for n := 1; n <= 2; n++ {
			echoed, upstream := get(c, "")
			m := tracker.FindStringSubmatch(upstream)
			if m == nil || echoed != upstream {
				t.Fatalf("connection %d request %d: upstream %q, echoed %q", i, n, upstream, echoed)
			}
			if m[2] != strconv.Itoa(n) {
				t.Errorf("connection %d request %d: connection_requests %s", i, n, m[2])
			}
			if n == 1 {
				conns = append(conns, m[1])
			} else if m[1] != conns[i] {
				t.Errorf("connection serial changed on one connection: %s then %s", conns[i], m[1])
			}
		}
		c.CloseIdleConnections()
	}
	if conns[0] == conns[1] {
		t.Errorf("two connections share serial %s", conns[0])
	}
	if echoed, upstream := get(http.DefaultClient, "mine"); echoed != "mine" || upstream != "mine" {
		t.Errorf("client id: upstream %q, echoed %q", upstream, echoed)
	}
}
