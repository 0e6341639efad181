package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Stand-in plugin schemas for the plugins the training configures, shaped
// like Kong's, registered only while no real plugin of that name exists (the
// bundled plugins arrive with the proxy runtime).
func init() {
	str := func(n string) *schema.Field { return &schema.Field{Name: n, Type: schema.String} }
	list := func(n string) *schema.Field {
		return &schema.Field{Name: n, Type: schema.Array, Default: []any{}, Elements: &schema.Field{Type: schema.String}}
	}
	part := func(n string, fields ...*schema.Field) *schema.Field {
		return &schema.Field{Name: n, Type: schema.Record, Required: true, Fields: fields}
	}
	stand := map[string]*store.PluginSchema{
		"request-transformer": {Config: &schema.Schema{Fields: []*schema.Field{
			str("http_method"),
			part("remove", list("headers"), list("querystring"), list("body")),
			part("rename", list("headers"), list("querystring"), list("body")),
			part("replace", list("headers"), list("querystring"), list("body"), str("uri")),
			part("add", list("headers"), list("querystring"), list("body")),
			part("append", list("headers"), list("querystring"), list("body")),
		}}},
		"basic-auth": {Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "anonymous", Type: schema.String},
			{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			{Name: "realm", Type: schema.String, Required: true, Default: "service"},
		}}},
		"rate-limiting": {Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "second", Type: schema.Number, Gt: schema.Float(0)},
			{Name: "minute", Type: schema.Number, Gt: schema.Float(0)},
			{Name: "hour", Type: schema.Number, Gt: schema.Float(0)},
			{Name: "limit_by", Type: schema.String, Default: "consumer", OneOf: []any{"consumer", "credential", "ip", "service", "header", "path", "consumer-group"}},
			{Name: "policy", Type: schema.String, Default: "local", OneOf: []any{"local", "cluster", "redis"}},
		}}},
	}
	have := map[string]bool{}
	for _, n := range plugin.Bundled() {
		have[n] = true
	}
	for name, ps := range stand {
		if !have[name] {
			ps.Name = name
			// Schema only: the instances do nothing (the admin tests send no traffic).
			plugin.Register(&plugin.Definition{Name: name, Version: "test", Priority: 1, Schema: ps,
				New: func(map[string]any) (any, error) { return struct{}{}, nil }})
		}
	}
}

// startNode starts a real node on loopback ports with the given settings.
func startNode(t *testing.T, settings map[string]string) *app.Node {
	t.Helper()
	flags := map[string]string{"status_listen": "127.0.0.1:0", "log_level": "error"}
	for k, v := range settings {
		flags[k] = v
	}
	return testnode.Start(t, flags)
}

// pgSettings gives a fresh, bootstrapped Postgres database.
func pgSettings(t *testing.T) map[string]string { return testpg.Settings(t) }

// client speaks to one Admin API over real HTTP.
type client struct {
	t    *testing.T
	base string
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r *response) str(path string) string {
	v := r.get(path)
	s, _ := v.(string)
	return s
}

// get walks a dotted path ("config.add.headers", "data.0.id") in the body.
func (r *response) get(path string) any {
	var cur any = r.body
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

func (c *client) do(method, path, contentType string, body []byte) *response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return out
}

// form sends a curl --data style body: "k=v" pairs.
func (c *client) form(method, path string, pairs ...string) *response {
	c.t.Helper()
	v := url.Values{}
	for _, p := range pairs {
		k, val, _ := strings.Cut(p, "=")
		v.Add(k, val)
	}
	return c.do(method, path, "application/x-www-form-urlencoded", []byte(v.Encode()))
}

func (c *client) json(method, path string, body any) *response {
	c.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(method, path, "application/json", b)
}

func (c *client) get(path string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, "", nil)
}

// expect fails unless the status matches, showing the body.
func expect(t *testing.T, r *response, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.raw)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s = %s, want %s", what, gb, wb)
	}
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
