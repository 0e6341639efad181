package proxy_test

import (
	"encoding/json"
	"fmt"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestProxyCache drives Kong's proxy-cache over real HTTP: Miss then Hit
// with the same X-Cache-Key and the upstream called once; the key varies
// with the query (all parameters, or vary_query_params) and vary_headers;
// Bypass for methods and content types that are not cacheable;
// Cache-Control honoured when cache_control is on (no-store requests,
// private responses, max-age as the TTL, only-if-cached); the diagnostic
// headers follow response_headers and Kong-Debug; a missing shared
// dictionary is refused with Kong's message.
func TestProxyCache(t *testing.T) {
	var calls atomic.Int64
	up := startUpstream(t, "cached", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		ct := "application/json"
		if r.URL.Query().Get("ct") != "" {
			ct = r.URL.Query().Get("ct")
		}
		w.Header().Set("Content-Type", ct)
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		fmt.Fprintf(w, `{"call":%d}`, n)
	})
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=cached", "url=http://"+up.addr)
	nd.configure("POST", "/services/cached/routes", "name=plain", "paths=/plain")
	nd.configure("POST", "/services/cached/routes", "name=vary", "paths=/vary")
	nd.configure("POST", "/services/cached/routes", "name=cc", "paths=/cc")
	nd.configure("POST", "/services/cached/routes", "name=quiet", "paths=/quiet")
	nd.configure("POST", "/routes/plain/plugins", "name=proxy-cache", "config.strategy=memory")
	nd.configure("POST", "/routes/vary/plugins", "name=proxy-cache", "config.strategy=memory",
		"config.vary_query_params=a", "config.vary_headers=X-Tenant")
	nd.configure("POST", "/routes/cc/plugins", "name=proxy-cache", "config.strategy=memory", "config.cache_control=true")
	nd.configure("POST", "/routes/quiet/plugins", "name=proxy-cache", "config.strategy=memory",
		"config.response_headers.X-Cache-Key=false", "config.response_headers.age=false")

	type got struct {
		status        int
		cache, key    string
		age           string
		body          string
		cookies       int
		contentLength string
	}
	do := func(method, path string, hdr map[string]string) got {
		t.Helper()
		req, _ := http.NewRequest(method, nd.proxy+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return got{res.StatusCode, res.Header.Get("X-Cache-Status"), res.Header.Get("X-Cache-Key"), res.Header.Get("Age"),
			string(b), len(res.Header.Values("Set-Cookie")), res.Header.Get("Content-Length")}
	}

	// Miss, then Hit with the same body, key and cookies; the upstream is
	// called once.
	before := calls.Load()
	miss := do("GET", "/plain/x?b=2&a=1", nil)
	hit := do("GET", "/plain/x?a=1&b=2", nil)
	if miss.cache != "Miss" || hit.cache != "Hit" || miss.key == "" || hit.key != miss.key || hit.body != miss.body ||
		hit.cookies != 2 || hit.age == "" || hit.contentLength != fmt.Sprint(len(hit.body)) {
		t.Fatalf("miss %+v\nhit %+v", miss, hit)
	}
	if calls.Load() != before+1 {
		t.Fatalf("upstream called %d times for a miss and a hit", calls.Load()-before)
	}
	// Every query parameter is part of the key by default.
	if other := do("GET", "/plain/x?a=1&b=3", nil); other.cache != "Miss" || other.key == miss.key {
		t.Errorf("other query: %+v", other)
	}
	// Bypass: a method that is not cacheable, a content type that is not.
	if r := do("POST", "/plain/x", nil); r.cache != "Bypass" {
		t.Errorf("POST: %+v", r)
	}
	if r := do("GET", "/plain/x?ct=text/html", nil); r.cache != "Bypass" {
		t.Errorf("text/html response: %+v", r)
	}
	if r := do("GET", "/plain/x?ct=text/html", nil); r.cache != "Bypass" {
		t.Errorf("text/html response, again (never stored): %+v", r)
	}

	// vary_query_params and vary_headers.
	v1 := do("GET", "/vary?a=1&ignored=1", map[string]string{"X-Tenant": "t1"})
	v2 := do("GET", "/vary?a=1&ignored=2", map[string]string{"X-Tenant": "t1"})
	v3 := do("GET", "/vary?a=1", map[string]string{"X-Tenant": "t2"})
	if v1.cache != "Miss" || v2.cache != "Hit" || v2.key != v1.key || v3.cache != "Miss" || v3.key == v1.key {
		t.Errorf("vary: %+v / %+v / %+v", v1, v2, v3)
	}

	// Cache-Control.
	if r := do("GET", "/cc/a?cc=max-age%3D60", map[string]string{"Cache-Control": "no-store"}); r.cache != "Bypass" {
		t.Errorf("no-store request: %+v", r)
	}
	if r := do("GET", "/cc/a?cc=max-age%3D60", map[string]string{"Authorization": "x"}); r.cache != "Bypass" {
		t.Errorf("request with Authorization: %+v", r)
	}
	if r := do("GET", "/cc/b?cc=private", nil); r.cache != "Bypass" {
		t.Errorf("private response: %+v", r)
	}
	if r := do("GET", "/cc/c", nil); r.cache != "Bypass" {
		t.Errorf("response without a TTL under cache_control: %+v", r)
	}
	m := do("GET", "/cc/d?cc=max-age%3D60", nil)
	h := do("GET", "/cc/d?cc=max-age%3D60", nil)
	if m.cache != "Miss" || h.cache != "Hit" {
		t.Errorf("max-age=60: %+v / %+v", m, h)
	}
	if r := do("GET", "/cc/never-stored", map[string]string{"Cache-Control": "only-if-cached"}); r.status != 504 {
		t.Errorf("only-if-cached on a miss: %+v", r)
	}

	// response_headers, and Kong-Debug showing them all.
	q1 := do("GET", "/quiet", nil)
	q2 := do("GET", "/quiet", nil)
	if q1.cache != "Miss" || q2.cache != "Hit" || q1.key != "" || q2.key != "" || q2.age != "" {
		t.Errorf("quiet: %+v / %+v", q1, q2)
	}
	if d := do("GET", "/quiet", map[string]string{"Kong-Debug": "1"}); d.key == "" || d.age == "" {
		t.Errorf("Kong-Debug: %+v", d)
	}

	// A missing shared dictionary, as Kong words it.
	res, err := http.PostForm(nd.admin+"/plugins", url.Values{"name": {"proxy-cache"}, "config.strategy": {"memory"},
		"config.memory.dictionary_name": {"nope"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	if raw, _ := json.Marshal(body); res.StatusCode != 400 || !strings.Contains(string(raw), "missing shared dict 'nope'") {
		t.Errorf("missing dictionary: %d %s", res.StatusCode, raw)
	}
	// strategy is required.
	res2, _ := http.PostForm(nd.admin+"/plugins", url.Values{"name": {"proxy-cache"}})
	res2.Body.Close()
	if res2.StatusCode != 400 {
		t.Errorf("no strategy: %d", res2.StatusCode)
	}
}

// TestProxyCacheTTL: an entry older than cache_ttl is refreshed.
func TestProxyCacheTTL(t *testing.T) {
	var calls atomic.Int64
	up := startUpstream(t, "ttl", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "v")
	})
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=ttl", "url=http://"+up.addr)
	nd.configure("POST", "/services/ttl/routes", "name=ttl", "paths=/ttl")
	nd.configure("POST", "/routes/ttl/plugins", "name=proxy-cache", "config.strategy=memory", "config.cache_ttl=1",
		"config.storage_ttl=30")
	status := func() string {
		r := nd.request("GET", "/ttl", nil, nil)
		return r.header.Get("X-Cache-Status")
	}
	if a, b := status(), status(); a != "Miss" || b != "Hit" {
		t.Fatalf("%s then %s", a, b)
	}
	time.Sleep(2100 * time.Millisecond) // past cache_ttl, within storage_ttl
	if s := status(); s != "Refresh" {
		t.Fatalf("after cache_ttl: %s", s)
	}
	if s := status(); s != "Hit" {
		t.Fatalf("after the refresh: %s", s)
	}
}

// TestProxyCacheAdminAPI: Kong's /proxy-cache endpoints over real HTTP —
// read an entry by key (across configurations and within one), purge it
// (the next request is a Miss), 404 for unknown keys and plugins, and
// flush everything.
func TestProxyCacheAdminAPI(t *testing.T) {
	up := startUpstream(t, "api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "body of "+r.URL.Path)
	})
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=api", "url=http://"+up.addr)
	nd.configure("POST", "/services/api/routes", "name=api", "paths=/api")
	pc := nd.configure("POST", "/routes/api/plugins", "name=proxy-cache", "config.strategy=memory",
		"config.memory.dictionary_name=kong_core_db_cache")
	pluginID := pc["id"].(string)
	admin := func(method, path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, nd.admin+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	first := nd.request("GET", "/api/one", nil, nil)
	key := first.header.Get("X-Cache-Key")
	if first.header.Get("X-Cache-Status") != "Miss" || key == "" {
		t.Fatalf("first request: %v", first.header)
	}
	status, entry := admin("GET", "/proxy-cache/"+key)
	headers, _ := entry["headers"].(map[string]any)
	if status != 200 || entry["body"] != "body of /one" || entry["status"] != 200.0 || entry["version"] != 1.0 ||
		headers["content-type"] != "text/plain" {
		t.Fatalf("GET /proxy-cache/{key}: %d %v", status, entry)
	}
	if status, _ := admin("GET", "/proxy-cache/"+pluginID+"/caches/"+key); status != 200 {
		t.Errorf("GET within the plugin: %d", status)
	}
	for _, path := range []string{"/proxy-cache/nokey", "/proxy-cache/" + pluginID + "/caches/nokey",
		"/proxy-cache/00000000-0000-4000-8000-000000000000/caches/" + key} {
		if status, body := admin("GET", path); status != 404 || body["message"] != "Not found" {
			t.Errorf("GET %s: %d %v", path, status, body)
		}
	}
	if status, _ := admin("DELETE", "/proxy-cache/"+key); status != 204 {
		t.Fatalf("DELETE by key: %d", status)
	}
	if status, _ := admin("DELETE", "/proxy-cache/"+key); status != 404 {
		t.Errorf("DELETE of a purged key: %d", status)
	}
	if r := nd.request("GET", "/api/one", nil, nil); r.header.Get("X-Cache-Status") != "Miss" {
		t.Errorf("after the purge: %s", r.header.Get("X-Cache-Status"))
	}
	if status, _ := admin("DELETE", "/proxy-cache/"+pluginID+"/caches/"+key); status != 204 {
		t.Errorf("DELETE within the plugin: %d", status)
	}
	nd.request("GET", "/api/one", nil, nil)
	nd.request("GET", "/api/two", nil, nil)
	if status, _ := admin("DELETE", "/proxy-cache"); status != 204 {
		t.Fatalf("DELETE /proxy-cache: %d", status)
	}
	for _, p := range []string{"/api/one", "/api/two"} {
		if r := nd.request("GET", p, nil, nil); r.header.Get("X-Cache-Status") != "Miss" {
			t.Errorf("%s after the flush: %s", p, r.header.Get("X-Cache-Status"))
		}
	}
}

// TestProxyCachePurgeAcrossNodes: a purge through one node's Admin API is
// broadcast to the nodes sharing its Postgres database ("proxy-cache:purge",
// "<plugin id>:<key>" or "<plugin id>:nil" for a flush, as Kong's cluster
// event), and a node receiving it purges its own cache.
func TestProxyCachePurgeAcrossNodes(t *testing.T) {
	settings := testpg.Settings(t)
	up := startUpstream(t, "api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "body of "+r.URL.Path)
	})
	a, b := startNode(t, settings), startNode(t, settings)
	a.configure("POST", "/services", "name=api", "url=http://"+up.addr)
	a.configure("POST", "/services/api/routes", "name=api", "paths=/api")
	pc := a.configure("POST", "/routes/api/plugins", "name=proxy-cache", "config.strategy=memory")
	pluginID := pc["id"].(string)
	heard := make(chan string, 4)
	b.n.Store().Bus().OnMessage("proxy-cache:purge", func(d string) { heard <- d })

	key := a.request("GET", "/api/one", nil, nil).header.Get("X-Cache-Key")
	if key == "" {
		t.Fatal("no cache key")
	}
	req, _ := http.NewRequest("DELETE", a.admin+"/proxy-cache/"+pluginID+"/caches/"+key, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 204 {
		t.Fatalf("purge: %v %v", res, err)
	}
	req, _ = http.NewRequest("DELETE", a.admin+"/proxy-cache", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 204 {
		t.Fatalf("flush: %v %v", res, err)
	}
	for _, want := range []string{pluginID + ":" + key, pluginID + ":nil"} {
		select {
		case got := <-heard:
			if got != want {
				t.Fatalf("node b heard %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("node b never heard %q", want)
		}
	}

	// Receiving a purge, a node purges its own cache (the nodes of this
	// test share one process, so node a's cache stands for it).
	// Node b has the configuration once its proxy caches.
	deadline := time.Now().Add(5 * time.Second)
	for b.request("GET", "/api/two", nil, nil).header.Get("X-Cache-Status") == "" {
		if time.Now().After(deadline) {
			t.Fatal("node b never got the proxy-cache configuration")
		}
		time.Sleep(20 * time.Millisecond)
	}
	hit := b.request("GET", "/api/two", nil, nil)
	if hit.header.Get("X-Cache-Status") != "Hit" {
		t.Fatalf("second request: %s", hit.header.Get("X-Cache-Status"))
	}
	a.n.Store().Bus().Deliver("proxy-cache:purge", pluginID+":"+hit.header.Get("X-Cache-Key"))
	if r := b.request("GET", "/api/two", nil, nil); r.header.Get("X-Cache-Status") != "Miss" {
		t.Fatalf("after a remote purge: %s", r.header.Get("X-Cache-Status"))
	}
	b.request("GET", "/api/two", nil, nil)
	a.n.Store().Bus().Deliver("proxy-cache:purge", pluginID+":nil")
	if r := b.request("GET", "/api/two", nil, nil); r.header.Get("X-Cache-Status") != "Miss" {
		t.Fatalf("after a remote flush: %s", r.header.Get("X-Cache-Status"))
	}
}
