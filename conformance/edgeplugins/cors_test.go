package edgeplugins_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCORS(t *testing.T) {
	e := newEnv(t, nil)
	allMethods := "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
	preflight := func(origin string, extra map[string]string) map[string]string {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	type want struct {
		status   int
		upstream bool              // the request reached the upstream
		headers  map[string]string // "" asserts absence
		vary     []string          // nil: not checked
	}
	cases := []struct {
		name   string
		config map[string]any
		method string
		hdrs   map[string]string
		want   want
	}{
		{"defaults simple request", nil, "GET", map[string]string{"Origin": "http://a.com"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "", "Access-Control-Expose-Headers": ""}, []string{}}},
		{"defaults no origin still gets *", nil, "GET", nil,
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "*"}, nil}},
		{"defaults preflight", nil, "OPTIONS", preflight("http://a.com", nil),
			want{200, false, map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": allMethods,
				"Access-Control-Allow-Headers": "", "Access-Control-Max-Age": "", "Content-Length": "0"}, nil}},
		{"preflight echoes request headers", nil, "OPTIONS", preflight("http://a.com", map[string]string{"Access-Control-Request-Headers": "X-Foo, X-Bar"}),
			want{200, false, map[string]string{"Access-Control-Allow-Headers": "X-Foo, X-Bar"}, nil}},
		{"OPTIONS without request method is proxied", nil, "OPTIONS", map[string]string{"Origin": "http://a.com"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "*"}, nil}},
		{"all fields preflight", map[string]any{"origins": []string{"http://a.com", "https://(.*)\\.b\\.org"}, "headers": []string{"X-One", "X-Two"},
			"exposed_headers": []string{"X-E"}, "methods": []string{"GET", "POST"}, "max_age": 3600, "credentials": true, "private_network": true},
			"OPTIONS", preflight("https://x.b.org", map[string]string{"Access-Control-Request-Private-Network": "true"}),
			want{200, false, map[string]string{"Access-Control-Allow-Origin": "https://x.b.org", "Access-Control-Allow-Headers": "X-One,X-Two",
				"Access-Control-Allow-Methods": "GET,POST", "Access-Control-Max-Age": "3600", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Private-Network": "true", "Access-Control-Expose-Headers": ""}, []string{"Origin"}}},
		{"private network needs the request header", map[string]any{"private_network": true}, "OPTIONS", preflight("http://a.com", nil),
			want{200, false, map[string]string{"Access-Control-Allow-Private-Network": ""}, nil}},
		{"all fields simple request", map[string]any{"origins": []string{"http://a.com", "https://(.*)\\.b\\.org"}, "exposed_headers": []string{"X-E", "X-F"}, "credentials": true},
			"GET", map[string]string{"Origin": "http://a.com:80"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "http://a.com", "Access-Control-Expose-Headers": "X-E,X-F",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Methods": ""}, []string{"Origin"}}},
		{"origin not in list", map[string]any{"origins": []string{"http://a.com", "http://c.com"}}, "GET", map[string]string{"Origin": "http://evil.com"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}}},
		{"regex by host", map[string]any{"origins": []string{"a\\.com", "(.*)\\.example\\.org"}}, "GET", map[string]string{"Origin": "https://api.example.org:8443"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "https://api.example.org:8443"}, []string{"Origin"}}},
		{"regex anchored at the end", map[string]any{"origins": []string{"a\\.com", "(.*)\\.example\\.org"}}, "GET", map[string]string{"Origin": "https://api.example.org.evil.com"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}}},
		{"single literal origin always sent", map[string]any{"origins": []string{"http://only.com"}}, "GET", map[string]string{"Origin": "http://other.com"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "http://only.com"}, []string{"Origin"}}},
		{"star with credentials echoes origin", map[string]any{"origins": []string{"*"}, "credentials": true}, "GET", map[string]string{"Origin": "http://x.io"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "http://x.io", "Access-Control-Allow-Credentials": "true"}, []string{"Origin"}}},
		{"star in a list", map[string]any{"origins": []string{"http://a.com", "*"}}, "GET", map[string]string{"Origin": "http://x.io"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "*"}, []string{"Origin"}}},
		{"preflight_continue proxies", map[string]any{"preflight_continue": true}, "OPTIONS", preflight("http://a.com", nil),
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "X-Upstream": "yes"}, nil}},
		{"allow_origin_absent false", map[string]any{"allow_origin_absent": false, "origins": []string{"http://a.com", "http://b.com"}}, "GET", nil,
			want{200, true, map[string]string{"Access-Control-Allow-Origin": ""}, []string{}}},
		{"hostile origin", map[string]any{"origins": []string{"http://a.com", "(.*)\\.b\\.org"}}, "GET", map[string]string{"Origin": "://[::1]:@@/x#y"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}}},
		{"null origin", map[string]any{"origins": []string{"http://a.com", "null"}}, "GET", map[string]string{"Origin": "null"},
			want{200, true, map[string]string{"Access-Control-Allow-Origin": "null"}, []string{"Origin"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := e.route("cors", c.config)
			before := e.hits.Load()
			res := e.send(&request{method: c.method, path: path, headers: c.hdrs})
			if res.StatusCode != c.want.status {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, res.body, c.want.status)
			}
			if reached := e.hits.Load() > before; reached != c.want.upstream {
				t.Errorf("upstream reached %v, want %v", reached, c.want.upstream)
			}
			for k, v := range c.want.headers {
				if got := res.Header.Get(k); got != v || (v == "" && len(res.Header.Values(k)) > 0 && k != "Content-Length") {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if c.want.vary != nil {
				got := res.Header.Values("Vary")
				if got == nil {
					got = []string{}
				}
				if !reflect.DeepEqual(got, c.want.vary) {
					t.Errorf("Vary = %q, want %q", got, c.want.vary)
				}
			}
			if !c.want.upstream && res.body != "" {
				t.Errorf("preflight body %q, want empty", res.body)
			}
		})
	}
}

func TestCORSSchemaErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.must(201, "POST", "/services/svc/routes", map[string]any{"name": "x", "paths": []string{"/x"}})
	cases := []struct {
		config map[string]any
		field  string
		want   any
	}{
		{map[string]any{"origins": []string{"(bad"}}, "origins", []any{"'(bad' is not a valid regex"}},
		{map[string]any{"methods": []string{"FETCH"}}, "methods", nil},
		{map[string]any{"max_age": "soon"}, "max_age", "expected a number"},
	}
	for _, c := range cases {
		status, body := e.call("POST", "/routes/x/plugins", map[string]any{"name": "cors", "config": c.config})
		if status != 400 {
			t.Errorf("%v: status %d, want 400", c.config, status)
			continue
		}
		fields, _ := body["fields"].(map[string]any)
		cfg, _ := fields["config"].(map[string]any)
		got, ok := cfg[c.field]
		if !ok {
			t.Errorf("%v: no error for %s in %v", c.config, c.field, body)
			continue
		}
		if c.want != nil && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: %s error %#v, want %#v", c.config, c.field, got, c.want)
		}
	}
	// consumer scope is refused (typedefs.no_consumer)
	e.must(201, "POST", "/consumers", map[string]any{"username": "u"})
	if status, _ := e.call("POST", "/consumers/u/plugins", map[string]any{"name": "cors"}); status != 400 {
		t.Errorf("cors on a consumer: status %d, want 400", status)
	}
}

// TestCORSTrainingFlow is the seed's step: a form-encoded
// `POST /routes/crud-route/plugins --data name=cors` with every default.
func TestCORSTrainingFlow(t *testing.T) {
	e := newEnv(t, nil)
	e.must(201, "POST", "/services/svc/routes", map[string]any{"name": "crud-route", "paths": []string{"/persons"}})
	res, err := http.Post(e.admin+"/routes/crud-route/plugins", "application/x-www-form-urlencoded", strings.NewReader("name=cors"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("POST plugins = %d %s", res.StatusCode, raw)
	}
	cfg := jsonBody(t, string(raw))["config"].(map[string]any)
	want := map[string]any{"origins": nil, "headers": nil, "exposed_headers": nil, "max_age": nil,
		"methods":     []any{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"},
		"credentials": false, "private_network": false, "preflight_continue": false, "allow_origin_absent": true}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("stored config %v, want %v", cfg, want)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.send(&request{method: "OPTIONS", path: "/persons/all", headers: map[string]string{
			"Origin": "http://localhost:8002", "Access-Control-Request-Method": "PUT"}})
		if r.StatusCode == 200 && r.Header.Get("Access-Control-Allow-Origin") == "*" {
			if r.Header.Get("Access-Control-Allow-Methods") != "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT" {
				t.Errorf("Allow-Methods %q", r.Header.Get("Access-Control-Allow-Methods"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("preflight never answered: %d %v", r.StatusCode, r.Header)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCORSHostileOrigins sends raw Origin headers a client library would
// refuse: control bytes, huge values, two Origins, odd schemes. Each gets
// a normal answer (the upstream's 200 or the preflight's 200), never a 5xx,
// and a disallowed origin is never echoed.
func TestCORSHostileOrigins(t *testing.T) {
	e := newEnv(t, nil)
	path := e.route("cors", map[string]any{"origins": []string{"http://a.com", "(.*)\\.b\\.org"}, "credentials": true})
	addr := strings.TrimPrefix(e.proxy, "http://")
	origins := []string{"\x7f://x", "http://a.com\x01", strings.Repeat("h", 6000), "http://[::1", "http://a.com:99999999999999",
		"javascript:alert(1)", "http://x.b.org@evil.com", "http://evil.com/.b.org", "http://a.com\r\nOrigin: http://a.com"}
	for i, o := range origins {
		for _, preflight := range []bool{false, true} {
			method, extra := "GET", ""
			if preflight {
				method, extra = "OPTIONS", "Access-Control-Request-Method: GET\r\n"
			}
			raw := method + " " + path + " HTTP/1.1\r\nHost: x\r\nOrigin: " + o + "\r\n" + extra + "\r\n"
			conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = conn.Write([]byte(raw))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			conn.Close()
			if err != nil {
				t.Fatalf("origin %d: no response: %v", i, err)
			}
			res.Body.Close()
			if res.StatusCode >= 500 {
				t.Errorf("origin %d (%q): status %d", i, o, res.StatusCode)
			}
			acao := res.Header.Get("Access-Control-Allow-Origin")
			if acao != "" && acao != "http://a.com" && !strings.HasSuffix(acao, ".b.org") {
				t.Errorf("origin %d (%q): allowed as %q", i, o, acao)
			}
		}
	}
}
