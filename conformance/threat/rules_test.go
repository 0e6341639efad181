package threat_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// post sends body as content type ct from client address ip.
func (e *env) post(path, ct string, body io.Reader, ip string, headers map[string]string) reply {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.proxy+path, body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Forwarded-For", ip)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m struct{ Message string }
	jsonUnmarshal(b, &m)
	return reply{res.StatusCode, m.Message}
}

func TestRules(t *testing.T) {
	e := start(t, nil, nil)
	e.route("rules", "/r", map[string]any{"rules": []any{
		// An alert rule listed first still runs after the deny rules.
		map[string]any{"name": "watch-json", "action": "alert", "message": "deep json seen", "paths": []any{"/r/alert*"},
			"filters": map[string]any{"json": map[string]any{"max_container_depth": 2}}},
		map[string]any{"name": "json-depth", "message": "json too deep", "paths": []any{"/r/json*", "/r/order*"},
			"filters": map[string]any{"json": map[string]any{"max_container_depth": 3}}},
		map[string]any{"name": "no-sqli", "message": "sql injection", "paths": []any{"/r/sql*"},
			"filters": map[string]any{"sql_injection": map[string]any{}}},
		map[string]any{"name": "order-second", "message": "second rule", "paths": []any{"/r/order*"},
			"filters": map[string]any{"max_body_size": 1}},
		map[string]any{"name": "small", "message": "too large", "paths": []any{"/r/size*"},
			"filters": map[string]any{"max_body_size": 10}},
		map[string]any{"name": "cred", "message": "credential required", "paths": []any{"/r/cred*"},
			"filters": map[string]any{"require_credential": true}},
		map[string]any{"name": "xml-depth", "message": "xml too deep", "paths": []any{"/r/xml*"},
			"filters": map[string]any{"xml": map[string]any{"max_node_depth": 2}}},
	}})
	const ip = "192.0.2.99"
	cases := []struct {
		name, path, ct, body string
		headers              map[string]string
		status               int
		message              string
		rule, filter         string // the event expected ("" none)
	}{
		{"json 3 deep passes", "/r/json", "application/json", `{"a":{"b":[1]}}`, nil, 200, "", "", ""},
		{"json 4 deep denied", "/r/json", "application/json", `{"a":{"b":[[1]]}}`, nil, 403, "json too deep", "json-depth", "json"},
		{"not json: json filter off", "/r/json", "text/plain", `[[[[[[1]]]]]]`, nil, 200, "", "", ""},
		{"alert lets through", "/r/alert", "application/json", `[[[1]]]`, nil, 200, "", "watch-json", "json"},
		{"sqli in query", "/r/sql?q=" + url.QueryEscape("' OR 1=1--"), "text/plain", "", nil, 403, "sql injection", "no-sqli", "sql_injection"},
		{"sqli in form", "/r/sql", "application/x-www-form-urlencoded", "user=" + url.QueryEscape("admin' OR '1'='1"), nil, 403, "sql injection", "no-sqli", "sql_injection"},
		{"clean query", "/r/sql?q=hello+world", "text/plain", "", nil, 200, "", "", ""},
		{"rule order: the first deny rule wins", "/r/order", "application/json", `[[[[1]]]]`, nil, 403, "json too deep", "json-depth", "json"},
		{"second rule when the first passes", "/r/order", "application/json", `[1]`, nil, 413, "second rule", "order-second", "max_body_size"},
		{"body too large", "/r/size", "text/plain", "0123456789A", nil, 413, "too large", "small", "max_body_size"},
		{"body small enough", "/r/size", "text/plain", "0123456789", nil, 200, "", "", ""},
		{"no credential", "/r/cred", "text/plain", "", nil, 403, "credential required", "cred", "require_credential"},
		{"credential", "/r/cred", "text/plain", "", map[string]string{"Authorization": "Bearer x"}, 200, "", "", ""},
		{"xml too deep", "/r/xml", "application/xml", `<a><b><c/></b></a>`, nil, 403, "xml too deep", "xml-depth", "xml"},
		{"xml fine", "/r/xml", "text/xml", `<a><b/></a>`, nil, 200, "", "", ""},
		{"other path", "/other", "application/json", `[[[[[1]]]]]`, nil, 404, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.events("/")
			var last uint64
			if len(before) > 0 {
				last = before[0].ID
			}
			r := e.post(c.path, c.ct, strings.NewReader(c.body), ip, c.headers)
			if r.status != c.status || (c.message != "" && r.message != c.message) {
				t.Fatalf("%d %q, want %d %q", r.status, r.message, c.status, c.message)
			}
			var fresh []event
			for _, ev := range e.events("/") {
				if ev.ID > last {
					fresh = append(fresh, ev)
				}
			}
			if c.rule == "" {
				if len(fresh) != 0 {
					t.Errorf("events %+v, want none", fresh)
				}
				return
			}
			if len(fresh) != 1 || fresh[0].Rule != c.rule || fresh[0].Filter != c.filter || fresh[0].ClientIP != ip {
				t.Fatalf("events %+v, want one of rule %s filter %s", fresh, c.rule, c.filter)
			}
			wantAction := "deny"
			if c.status == 200 {
				wantAction = "alert"
			}
			if fresh[0].Action != wantAction {
				t.Errorf("action %q, want %q", fresh[0].Action, wantAction)
			}
		})
	}
}

// deepJSON streams "[" depth times, then digits forever up to size bytes:
// too deep at its start. It counts the bytes read from it.
type deepJSON struct {
	size, read int64
}

func (d *deepJSON) Read(p []byte) (int, error) {
	if d.read >= d.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if d.size-d.read < n {
		n = d.size - d.read
	}
	for i := int64(0); i < n; i++ {
		if d.read+i < 8 {
			p[i] = '['
		} else {
			p[i] = ' '
		}
	}
	atomic.AddInt64(&d.read, n)
	return int(n), nil
}

func TestHundredMiBJSONRejectedWithoutBuffering(t *testing.T) {
	var upstreamBytes atomic.Int64
	e := start(t, nil, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		upstreamBytes.Add(n)
		w.Write([]byte(`{}`))
	})
	e.route("big", "/big", map[string]any{"rules": []any{
		map[string]any{"name": "depth", "message": "json too deep", "filters": map[string]any{"json": map[string]any{"max_container_depth": 3}}},
	}})
	const size = 100 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	body := &deepJSON{size: size}
	req, _ := http.NewRequest("POST", e.proxy+"/big", body)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "192.0.2.123")
	c := &http.Client{Transport: &http.Transport{}, Timeout: deadline}
	defer c.Transport.(*http.Transport).CloseIdleConnections()
	res, err := c.Do(req)
	var status int
	var msg string
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		status = res.StatusCode
		var m struct{ Message string }
		jsonUnmarshal(b, &m)
		msg = m.Message
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	sent := atomic.LoadInt64(&body.read)
	t.Logf("client sent %d of %d bytes; upstream got %d; heap %d -> %d MiB, total allocated %d MiB",
		sent, int64(size), upstreamBytes.Load(), before.HeapInuse>>20, after.HeapInuse>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
	if err != nil {
		// The gateway may close the connection while the client still
		// writes; the client then sees a write error instead of the 403.
		t.Logf("client: %v", err)
	} else if status != 403 || msg != "json too deep" {
		t.Fatalf("%d %q, want 403 json too deep", status, msg)
	}
	if sent >= size/2 {
		t.Errorf("the gateway read %d bytes of a body too deep at byte 4", sent)
	}
	if grown := int64(after.TotalAlloc - before.TotalAlloc); grown > 48<<20 {
		t.Errorf("%d MiB allocated while refusing the body: buffered", grown>>20)
	}
	poll(t, "the event", func() bool {
		evs := e.events("/big")
		return len(evs) == 1 && evs[0].Rule == "depth" && evs[0].Filter == "json"
	})
}

func jsonUnmarshal(b []byte, v any) { _ = jsonDecode(bytes.NewReader(b), v) }

// chunks yields parts, then EOF, with no length known in advance (the
// request is chunked).
type chunks struct{ parts [][]byte }

func (c *chunks) Read(p []byte) (int, error) {
	for len(c.parts) > 0 && len(c.parts[0]) == 0 {
		c.parts = c.parts[1:]
	}
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	return n, nil
}

func TestStreamedBodies(t *testing.T) {
	var upstreamBytes atomic.Int64
	e := start(t, nil, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		upstreamBytes.Add(n)
		w.Write([]byte(`{}`))
	})
	e.route("stream", "/s", map[string]any{"rules": []any{
		map[string]any{"name": "size", "message": "too big", "paths": []any{"/s/size"}, "filters": map[string]any{"max_body_size": 1 << 20}},
		map[string]any{"name": "depth", "message": "too deep", "paths": []any{"/s/deny"}, "filters": map[string]any{"json": map[string]any{"max_container_depth": 3}}},
		map[string]any{"name": "watch", "action": "alert", "message": "deep", "paths": []any{"/s/alert"}, "filters": map[string]any{"json": map[string]any{"max_container_depth": 2}}},
	}})
	// A 2 MiB JSON array whose last element is too deep.
	big := func(tail string) []byte {
		var b bytes.Buffer
		b.WriteString("[")
		for b.Len() < 2<<20 {
			b.WriteString("1234567,")
		}
		b.WriteString(tail + "]")
		return b.Bytes()
	}
	send := func(path string, body []byte, chunked bool) reply {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			rd = &chunks{parts: [][]byte{body[:len(body)/2], body[len(body)/2:]}}
		}
		req, _ := http.NewRequest("POST", e.proxy+path, rd)
		if chunked {
			req.ContentLength = -1
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "192.0.2.200")
		c := &http.Client{Transport: &http.Transport{}, Timeout: deadline}
		defer c.Transport.(*http.Transport).CloseIdleConnections()
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m struct{ Message string }
		jsonUnmarshal(b, &m)
		return reply{res.StatusCode, m.Message}
	}
	for _, chunked := range []bool{false, true} {
		upstreamBytes.Store(0)
		// Too deep at the very end: the last piece is held back until the
		// scanner has seen it, so the upstream never gets the whole body.
		if r := send("/s/deny", big("[[[1]]]"), chunked); r.status != 403 || r.message != "too deep" {
			t.Errorf("chunked %v: deep at the end: %+v", chunked, r)
		}
		if r := send("/s/deny", big("[[1]]"), chunked); r.status != 200 {
			t.Errorf("chunked %v: depth 3: %+v", chunked, r)
		}
		if r := send("/s/alert", big("[[1]]"), chunked); r.status != 200 {
			t.Errorf("chunked %v: alert: %+v", chunked, r)
		}
	}
	if r := send("/s/size", big(""), true); r.status != 413 || r.message != "too big" {
		t.Errorf("chunked over max_body_size: %+v", r)
	}
	if r := send("/s/size", big(""), false); r.status != 413 {
		t.Errorf("declared over max_body_size: %+v", r)
	}
	var alerts, denies int
	for _, ev := range e.events("/s/") {
		switch {
		case ev.Rule == "watch" && ev.Action == "alert" && ev.Filter == "json":
			alerts++
		case ev.Rule == "depth" && ev.Action == "deny" && ev.Filter == "json":
			denies++
		}
	}
	if alerts != 2 || denies != 2 {
		t.Errorf("%d alerts, %d json denials; want 2 and 2", alerts, denies)
	}
}

// TestTappedBodyReadWholeByALaterPlugin: a large body the rules tap, which
// a later plugin (request-transformer, priority 801) then reads whole, is
// still judged: the body cannot slip past the rules that way.
func TestTappedBodyReadWholeByALaterPlugin(t *testing.T) {
	e := start(t, nil, nil)
	e.route("rt", "/rt", map[string]any{"rules": []any{
		map[string]any{"name": "depth", "message": "too deep", "filters": map[string]any{"json": map[string]any{"max_container_depth": 3}}},
	}})
	e.api("POST", "/routes/rt/plugins", map[string]any{"name": "request-transformer", "config": map[string]any{"add": map[string]any{"body": []any{"added:1"}}}}, 201)
	e.rebuild()
	var b bytes.Buffer
	b.WriteString(`{"pad":[`)
	for b.Len() < 2<<20 {
		b.WriteString("1234567,")
	}
	ok := append([]byte(nil), b.Bytes()...)
	ok = append(ok, []byte(`1]}`)...)
	b.WriteString(`[[1]]]}`) // depth 4 at the end
	if r := e.post("/rt", "application/json", bytes.NewReader(b.Bytes()), "192.0.2.210", nil); r.status != 403 || r.message != "too deep" {
		t.Errorf("deep body read whole by a later plugin: %+v", r)
	}
	if r := e.post("/rt", "application/json", bytes.NewReader(ok), "192.0.2.210", nil); r.status != 200 {
		t.Errorf("fine body: %+v", r)
	}
}
