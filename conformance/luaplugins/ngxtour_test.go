package luaplugins_test

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNgxTour calls the ngx functions and the libraries Kong Lua plugins
// use (issue 10, items 6 and 7) inside real requests through the proxy,
// and checks each result against Go's own computation.
func TestNgxTour(t *testing.T) {
	var mu sync.Mutex
	var last *http.Request
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Clone(r.Context())
		mu.Unlock()
		io.WriteString(w, "hello from "+r.URL.Path+" "+r.Header.Get("X-From"))
	}))
	defer up.Close()
	nd := start(t, "ngx-tour")
	nd.form("POST", "/services", "name=s", "url="+up.URL)
	nd.form("POST", "/services/s/routes", "name=tour", "paths=/tour")
	nd.form("POST", "/services/s/routes", "name=rewrite", "paths=/rw")
	nd.form("POST", "/routes/tour/plugins", "name=ngx-tour", "config.upstream="+up.URL)
	nd.form("POST", "/routes/rewrite/plugins", "name=ngx-tour", "config.mode=rewrite")
	deadline := time.Now().Add(5 * time.Second)
	var res *http.Response
	var body []byte
	for {
		req, _ := http.NewRequest("POST", nd.proxy+"/tour?a=1&b=x", strings.NewReader("p=1&q=2"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-One", "1")
		req.Host = "tour.test"
		var err error
		if res, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.Header.Get("X-Tour") == "1" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("tour: %d %s %s", res.StatusCode, res.Header, body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("tour body %s: %v", body, err)
	}
	hexOf := func(b []byte) string { return hex.EncodeToString(b) }
	md5sum := md5.Sum([]byte("hello"))
	sha1sum := sha1.Sum([]byte("hello"))
	sha256sum := sha256.Sum256([]byte("hello"))
	mac1 := hmac.New(sha1.New, []byte("key"))
	mac1.Write([]byte("hello"))
	mac256 := hmac.New(sha256.New, []byte("key"))
	mac256.Write([]byte("hello"))
	want := map[string]any{
		"var": map[string]any{"uri": "/tour", "request_uri": "/tour?a=1&b=x", "host": "tour.test", "remote_addr": "127.0.0.1",
			"request_method": "POST", "scheme": "http", "http_x_one": "1", "arg_a": "1"},
		"req":  map[string]any{"method": "POST", "a": "1", "b": "x", "p": "1", "q": "2", "header": "1", "body": "p=1&q=2", "started": true},
		"ctx":  2.0,
		"time": map[string]any{"now_ok": true, "today": time.Now().Format("2006-01-02"), "http_time": "Thu, 01 Jan 1970 00:00:00 GMT"},
		"enc": map[string]any{"b64": "aGVsbG8=", "unb64": "hello", "md5": hexOf(md5sum[:]), "md5_bin": hexOf(md5sum[:]),
			"sha1": hexOf(sha1sum[:]), "hmac_sha1": hexOf(mac1.Sum(nil)), "crc32": float64(crc32.ChecksumIEEE([]byte("hello"))),
			"escape": "a%20b%2Fc", "unescape": "a b", "args": "x=1", "decoded": "v2", "null": true},
		"re":      map[string]any{"name": "user", "num": "42", "from": 4.0, "to": 6.0, "count": 3.0, "gsub": "a#b#", "n": 2.0, "sub": "a#b2", "unsupported": true},
		"shared":  map[string]any{"get": "v", "added": false, "incr": 15.0, "ttl_ok": true, "deleted": true},
		"env":     map[string]any{"phase": "access", "subsystem": "http", "worker": 0.0, "workers": 1.0, "timer": true},
		"cjson":   map[string]any{"slash": true, "second": 2.0, "safe": true},
		"jwt":     map[string]any{"verified": true, "sub": "tour", "parser_ok": true, "loaded": "HS256"},
		"openssl": map[string]any{"hmac": hexOf(mac256.Sum(nil)), "digest": hexOf(sha256sum[:]), "pkey": true},
		"resty":   map[string]any{"sha256": hexOf(sha256sum[:]), "md5": hexOf(md5sum[:]), "sha1": hexOf(sha1sum[:]), "asn": "0102/03"},
		"http":    map[string]any{"status": 200.0, "body": "hello from /from-lua lua"},
		"acl":     true,
		"pl":      map[string]any{"deep": true, "split": 3.0, "strip": "x", "usplit": 3.0, "keys": 2.0},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s:\n got %#v\nwant %#v", k, got[k], w)
		}
	}

	// ngx.req changes the upstream request.
	deadline = time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", nd.proxy+"/rw?old=1", nil)
		req.Header.Set("X-One", "1")
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r2.Body)
		r2.Body.Close()
		mu.Lock()
		l := last
		mu.Unlock()
		if l != nil && l.Header.Get("X-Set") == "by-ngx" {
			if l.URL.Path != "/rewritten" || l.URL.RawQuery != "z=9" || l.Header.Get("X-One") != "" {
				t.Fatalf("rewritten upstream request: %s %s X-One %q", l.URL.Path, l.URL.RawQuery, l.Header.Get("X-One"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rewrite never reached the upstream (last %v)", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
