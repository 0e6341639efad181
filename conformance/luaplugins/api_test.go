package luaplugins_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// startLogged is start with the node's log lines kept in logs and the
// given lua_timeout (0: the default).
func startLogged(t *testing.T, logs *testnode.LogBuffer, timeout time.Duration, names ...string) *node {
	t.Helper()
	settings := map[string]string{"plugins": "bundled," + strings.Join(names, ",")}
	cfg, err := config.Load(config.LoadOptions{Flags: settings})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: "testdata/plugins", Names: names, Prefix: t.TempDir(),
		Configuration: cfg.Values(), Logger: log, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, settings, app.Options{Providers: []hostabi.Provider{p}, Logger: log})
	return &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
}

// adminCall sends one Admin API request with a body of the given type
// and returns the status, headers and body.
func (nd *node) adminCall(c *http.Client, method, path, contentType string, body []byte) (int, http.Header, []byte) {
	nd.t.Helper()
	req, err := http.NewRequest(method, nd.admin+path, bytes.NewReader(body))
	if err != nil {
		nd.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Probe", "probe-value")
	res, err := c.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s", b)
	}
	return m
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAPIModern: api.lua in Kong 1.x-3.x form (`schema` + `methods`,
// handlers given kong.db) served on the Admin API over HTTP.
func TestAPIModern(t *testing.T) {
	logs := &testnode.LogBuffer{}
	// lua_timeout: 1 s, which a loaded machine under -race keeps (the
	// spinning handler takes that long to stop)
	nd := startLogged(t, logs, time.Second, "token-desk")
	c := &http.Client{}
	nd.form("POST", "/consumers/", "username=ada")

	// a form body with a dotted key (normalize_nested_params)
	st, h, b := nd.adminCall(c, "POST", "/token-desk/ada/notes", "application/x-www-form-urlencoded",
		[]byte("text=first+note&meta.level=3"))
	if st != 201 || h.Get("X-Note-Id") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("POST form: %d %v %s", st, h, b)
	}
	row := decode(t, b)
	if row["text"] != "first note" || row["level"] != 3.0 || row["id"] != h.Get("X-Note-Id") {
		t.Fatalf("inserted row %s", b)
	}
	// a JSON body
	st, _, b = nd.adminCall(c, "POST", "/token-desk/ada/notes", "application/json", []byte(`{"text":"second note","meta":{"level":2}}`))
	if st != 201 || decode(t, b)["level"] != 2.0 {
		t.Fatalf("POST JSON: %d %s", st, b)
	}
	// a multipart body
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("text", "third note")
	mw.Close()
	if st, _, b = nd.adminCall(c, "POST", "/token-desk/ada/notes", mw.FormDataContentType(), mp.Bytes()); st != 201 {
		t.Fatalf("POST multipart: %d %s", st, b)
	}
	// the entity's schema refuses a level out of range: Kong's 400 body
	st, _, b = nd.adminCall(c, "POST", "/token-desk/ada/notes", "application/json", []byte(`{"text":"x","meta":{"level":9}}`))
	if e := decode(t, b); st != 400 || e["code"] != 2.0 || e["name"] != "schema violation" {
		t.Fatalf("invalid level: %d %s", st, b)
	}
	// the entity's own Admin API sees the notes (same store)
	if st, _, b = nd.adminCall(c, "GET", "/token-desk-notes", "", nil); st != 200 || len(decode(t, b)["data"].([]any)) != 3 {
		t.Fatalf("/token-desk-notes: %d %s", st, b)
	}

	cases := []struct {
		name, method, path, ct, body string
		status                       int
		want                         map[string]any
		contains                     string
	}{
		{name: "list with a query parameter", method: "GET", path: "/token-desk/ada/notes?limit=2", status: 200,
			want: map[string]any{"consumer": "ada", "total": 2.0, "data": []any{"first note", "second note"}}},
		{name: "unknown consumer", method: "GET", path: "/token-desk/bob/notes", status: 404,
			want: map[string]any{"message": "Not found"}},
		{name: "echo JSON", method: "POST", path: "/token-desk/echo/hello?q=1&q=2&z=zz", ct: "application/json",
			body: `{"a":{"b":[1,2]},"word":"body-wins"}`, status: 200,
			want: map[string]any{"word": "body-wins", "json": true, "probe": "probe-value", "method": "POST", "query_arg": "1",
				"node": true, "uri": map[string]any{"q": []any{"1", "2"}, "z": "zz"},
				"post":   map[string]any{"a": map[string]any{"b": []any{1.0, 2.0}}, "word": "body-wins"},
				"params": map[string]any{"a": map[string]any{"b": []any{1.0, 2.0}}, "word": "body-wins", "q": []any{"1", "2"}, "z": "zz"}}},
		{name: "escaped path parameter", method: "PUT", path: "/token-desk/echo/hello%20w%C3%B6rld", ct: "application/json",
			body: `{}`, status: 200, want: map[string]any{"word": "hello wörld"}},
		{name: "form body under the path", method: "POST", path: "/token-desk/echo/path-wins", ct: "application/x-www-form-urlencoded",
			body: "word=form-loses", status: 200, want: map[string]any{"word": "path-wins"}},
		{name: "echo form", method: "POST", path: "/token-desk/echo/form", ct: "application/x-www-form-urlencoded",
			body: "config.x=1&list[1]=a&list[2]=b&flag", status: 200,
			want: map[string]any{"word": "form", "json": false,
				"params": map[string]any{"word": "form", "config": map[string]any{"x": "1"}, "list": []any{"a", "b"}, "flag": true}}},
		{name: "bad JSON", method: "POST", path: "/token-desk/echo/x", ct: "application/json", body: `{"a":`, status: 400,
			want: map[string]any{"message": "Cannot parse JSON body"}},
		{name: "unsupported body", method: "POST", path: "/token-desk/echo/x", ct: "text/plain", body: "hi", status: 415},
		{name: "PUT", method: "PUT", path: "/token-desk/echo/put", ct: "application/json", body: `{"k":"v"}`, status: 200,
			want: map[string]any{"word": "put", "params": map[string]any{"word": "put", "k": "v"}}},
		{name: "other method", method: "DELETE", path: "/token-desk/echo/x", status: 405,
			want: map[string]any{"message": "Method not allowed"}},
		{name: "unknown path", method: "GET", path: "/token-desk/nowhere/at/all", status: 404,
			want: map[string]any{"message": "Not found"}},
		{name: "exit with a table", method: "GET", path: "/token-desk/exits/409", status: 409, want: map[string]any{"code": 409.0}},
		{name: "exit with a string", method: "GET", path: "/token-desk/exits/418", status: 418, contains: "short and stout"},
		{name: "exit without body", method: "GET", path: "/token-desk/exits/204", status: 204},
		{name: "kong.response.error", method: "GET", path: "/token-desk/exits/403", status: 403, contains: `"message":"Forbidden"`},
		{name: "ngx.say", method: "GET", path: "/token-desk/exits/202?word=hi", status: 202, contains: "said hi\n"},
		{name: "Lapis rendering", method: "GET", path: "/token-desk/exits/203", status: 203, want: map[string]any{"rendered": true}},
		{name: "Lapis rendering of text", method: "GET", path: "/token-desk/exits/206", status: 206, contains: "<p>partial</p>"},
		{name: "yield_error of kong.db", method: "GET", path: "/token-desk/faults/yield-unique", status: 409,
			want: map[string]any{"code": 5.0, "name": "unique constraint violation", "message": `UNIQUE violation detected on '{text="x"}'`, "fields": map[string]any{"text": "x"}}},
		{name: "yield_error of a string", method: "GET", path: "/token-desk/faults/yield-string", status: 500,
			want: map[string]any{"message": "An unexpected error occurred"}},
		{name: "handler's error return", method: "GET", path: "/token-desk/faults/return-err", status: 500,
			want: map[string]any{"message": "An unexpected error occurred"}},
		{name: "Lua error", method: "GET", path: "/token-desk/faults/error", status: 500,
			want: map[string]any{"message": "An unexpected error occurred"}},
		{name: "Lua runtime error", method: "GET", path: "/token-desk/faults/nil", status: 500,
			want: map[string]any{"message": "An unexpected error occurred"}},
		{name: "lua_timeout", method: "GET", path: "/token-desk/faults/spin", status: 500,
			want: map[string]any{"message": "An unexpected error occurred"}},
		{name: "kong.service is no Admin API's", method: "GET", path: "/token-desk/faults/service", status: 500,
			want: map[string]any{"message": "An unexpected error occurred"}},
		{name: "ngx.timer.at says no", method: "GET", path: "/token-desk/faults/timer", status: 200,
			want: map[string]any{"ok": false, "err": "ngx.timer.at is only available in the request phases in Gatehouse"}},
		{name: "core route wins", method: "GET", path: "/status", status: 200, contains: `"database"`},
		{name: "generated endpoint: the entity route answers", method: "GET", path: "/consumers/ada/token-desk-notes", status: 200,
			contains: `"text":"first note"`},
		{name: "parent refused by the plugin", method: "POST", path: "/consumers/ada/token-desk-notes", ct: "application/json",
			body: `{"text":"forbidden"}`, status: 403, want: map[string]any{"message": "that note is not kept"}},
		{name: "parent: the entity route creates", method: "POST", path: "/consumers/ada/token-desk-notes", ct: "application/json",
			body: `{"text":"via parent","level":4}`, status: 201, want: map[string]any{"text": "via parent", "level": 4.0}},
		{name: "generated endpoint without a node route", method: "GET", path: "/token-desk/generated", status: 404,
			want: map[string]any{"message": "Not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := nd.adminCall(c, tc.method, tc.path, tc.ct, []byte(tc.body))
			if st != tc.status {
				t.Fatalf("%d %s, want %d", st, b, tc.status)
			}
			if tc.want != nil {
				got := decode(t, b)
				for k, v := range tc.want {
					if jsonOf(got[k]) != jsonOf(v) {
						t.Errorf("%s = %s, want %s (body %s)", k, jsonOf(got[k]), jsonOf(v), b)
					}
				}
			}
			if !strings.Contains(string(b), tc.contains) {
				t.Errorf("body %s lacks %s", b, tc.contains)
			}
		})
	}
	if _, h, _ := nd.adminCall(c, "GET", "/token-desk/exits/203", "", nil); h.Get("X-Rendered") != "yes" {
		t.Errorf("rendered headers: %v", h)
	}
	if _, h, _ := nd.adminCall(c, "GET", "/token-desk/exits/206", "", nil); h.Get("Content-Type") != "text/html" {
		t.Errorf("rendered text: Content-Type %q", h.Get("Content-Type"))
	}
	if _, h, _ := nd.adminCall(c, "GET", "/token-desk/exits/418", "", nil); h.Get("X-Pot") != "yes" || h.Get("Content-Type") != "text/plain" {
		t.Errorf("exit headers: %v", h)
	}
	// hostile input: a JSON body nested past cjson's depth limit, a query
	// of many thousand arguments; answered, the node unharmed
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if st, _, b := nd.adminCall(c, "POST", "/token-desk/echo/deep", "application/json", []byte(deep)); st != 400 ||
		!strings.Contains(string(b), "Cannot parse JSON body") {
		t.Errorf("deep JSON: %d %.200s", st, b)
	}
	many := strings.Repeat("k=v&", 20000)
	if st, _, b := nd.adminCall(c, "POST", "/token-desk/echo/many?"+many[:3000], "application/x-www-form-urlencoded", []byte(many)); st != 200 {
		t.Errorf("many arguments: %d %.200s", st, b)
	}
	// each fault was logged with the plugin, the phase and the Lua
	// traceback; kong.log lines of the handlers reach the node's log
	for _, want := range []string{"plugin endpoint failed", "plugin=token-desk", "path=/token-desk/faults/:kind",
		"lua plugin token-desk, phase admin_api: ", "the desk fell over", "stack traceback",
		"stopped after lua_timeout", "kong.service.request is not available in an Admin API endpoint (api.lua)",
		"handler said no", "the store is gone", "kept for ada"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	// the node is fine after the faults: the same endpoint answers
	if st, _, b := nd.adminCall(c, "GET", "/token-desk/ada/notes", "", nil); st != 200 {
		t.Fatalf("after the faults: %d %s", st, b)
	}
	// HEAD answers as GET, without a body; OPTIONS lists the methods
	if st, _, b := nd.adminCall(c, "HEAD", "/token-desk/ada/notes", "", nil); st != 200 || len(b) != 0 {
		t.Errorf("HEAD: %d %q", st, b)
	}
	if st, h, _ := nd.adminCall(c, "OPTIONS", "/token-desk/ada/notes", "", nil); st != 204 || h.Get("Allow") != "GET, HEAD, OPTIONS, POST" {
		t.Errorf("OPTIONS: %d %q", st, h.Get("Allow"))
	}
}

// TestAPILegacy: api.lua in the 0.x form (methods at the route's top,
// `before`, the DAO factory, kong.tools.responses, ngx.say + ngx.exit,
// helpers.yield_error with the old DAO's errors), laid out by a rockspec.
func TestAPILegacy(t *testing.T) {
	nd := startLogged(t, &testnode.LogBuffer{}, 2*time.Second, "legacy-desk")
	c := &http.Client{}
	nd.form("POST", "/consumers/", "username=grace")
	nd.form("POST", "/consumers/grace/acls", "group=ops")
	nd.form("POST", "/consumers/grace/acls", "group=admins")
	cases := []struct {
		name, method, path, ct, body string
		status                       int
		want                         map[string]any
	}{
		{"groups", "GET", "/legacy-desk/grace/groups?page=2", "", "", 200,
			map[string]any{"username": "grace", "groups": []any{"admins", "ops"}, "page": "2"}},
		{"before answers 404", "GET", "/legacy-desk/nobody/groups", "", "", 404, map[string]any{"message": "Not found"}},
		{"greeting form", "POST", "/legacy-desk/grace/greeting", "application/x-www-form-urlencoded", "greeting=hi&config.tone=warm", 200,
			map[string]any{"greeting": "hi, grace", "config": map[string]any{"tone": "warm"}}},
		{"greeting JSON", "POST", "/legacy-desk/grace/greeting", "application/json", `{"greeting":"hey"}`, 200,
			map[string]any{"greeting": "hey, grace"}},
		{"send_HTTP_BAD_REQUEST", "POST", "/legacy-desk/grace/greeting", "application/json", `{}`, 400,
			map[string]any{"message": "greeting is required"}},
		{"yield unique", "GET", "/legacy-desk/errors/unique", "", "", 409, map[string]any{"name": "already exists with value 'x'"}},
		{"yield foreign", "GET", "/legacy-desk/errors/foreign", "", "", 404, map[string]any{"message": "Not found"}},
		{"yield db", "GET", "/legacy-desk/errors/db", "", "", 500, map[string]any{"message": "An unexpected error occurred"}},
		{"yield string", "GET", "/legacy-desk/errors/string", "", "", 500, map[string]any{"message": "An unexpected error occurred"}},
		{"yield other", "GET", "/legacy-desk/errors/thing", "", "", 400, nil},
		{"route on_error", "GET", "/legacy-desk/custom", "", "", 409, map[string]any{"custom": "mine"}},
		{"crud_helpers: the consumer lookup fails", "GET", "/consumers/nobody/acls", "", "", 404, map[string]any{"message": "Not found"}},
		{"crud_helpers: the entity route creates", "POST", "/consumers/grace/acls/", "application/x-www-form-urlencoded", "group=devs", 201,
			map[string]any{"group": "devs"}},
		{"other method", "PATCH", "/legacy-desk/grace/groups", "application/json", "{}", 405, map[string]any{"message": "Method not allowed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := nd.adminCall(c, tc.method, tc.path, tc.ct, []byte(tc.body))
			if st != tc.status {
				t.Fatalf("%d %s, want %d", st, b, tc.status)
			}
			if tc.want == nil {
				return
			}
			got := decode(t, b)
			for k, v := range tc.want {
				if jsonOf(got[k]) != jsonOf(v) {
					t.Errorf("%s = %s, want %s (body %s)", k, jsonOf(got[k]), jsonOf(v), b)
				}
			}
		})
	}
	if st, _, b := nd.adminCall(c, "GET", "/legacy-desk/quiet", "", nil); st != 200 || len(b) != 0 {
		t.Errorf("quiet on_error: %d %s", st, b)
	}
	// crud.paginated_set: the entity route lists the consumer's groups
	if st, _, b := nd.adminCall(c, "GET", "/consumers/grace/acls", "", nil); st != 200 ||
		!strings.Contains(string(b), `"group":"devs"`) || !strings.Contains(string(b), `"group":"ops"`) {
		t.Errorf("crud_helpers list: %d %s", st, b)
	}
	// "bad thing": the old DAO's message as the body
	if st, _, b := nd.adminCall(c, "GET", "/legacy-desk/errors/thing", "", nil); st != 400 || !strings.Contains(string(b), "bad thing") {
		t.Errorf("yield other: %d %s", st, b)
	}
}

// TestAPIConcurrent: api.lua handlers under concurrent keep-alive
// clients, each call answered with its own parameters, failing calls
// mixed in; run with -race.
func TestAPIConcurrent(t *testing.T) {
	// A lua_timeout for a loaded machine under -race: calls queue for
	// the pool's states up to it.
	nd := startLogged(t, &testnode.LogBuffer{}, 5*time.Second, "token-desk")
	const clients, calls = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, clients*calls)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for j := 0; j < calls; j++ {
				word := fmt.Sprintf("w%d-%d", i, j)
				if j%5 == 4 {
					req, _ := http.NewRequest("GET", nd.admin+"/token-desk/faults/error", nil)
					res, err := c.Do(req)
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 500 {
						errs <- fmt.Errorf("fault answered %d", res.StatusCode)
					}
					continue
				}
				body := url.Values{"n": {fmt.Sprint(j)}}.Encode()
				req, _ := http.NewRequest("POST", nd.admin+"/token-desk/echo/"+word+"?c="+fmt.Sprint(i), strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, err := c.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var m struct {
					Word   string            `json:"word"`
					Params map[string]string `json:"params"`
				}
				if res.StatusCode != 200 || json.Unmarshal(b, &m) != nil || m.Word != word ||
					m.Params["n"] != fmt.Sprint(j) || m.Params["c"] != fmt.Sprint(i) {
					errs <- fmt.Errorf("%s: %d %s", word, res.StatusCode, b)
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
