package store_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	basicauth "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/gatehouse/gatehouse/store/storetest"
)

const missingID = "00000000-0000-0000-0000-000000000000"

func openStore(t *testing.T, opts store.Options) *store.Store {
	t.Helper()
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if opts.Plugins == nil {
		opts.Plugins = storetest.TestPlugins{}
	}
	return store.New(b, opts)
}

// testCert is a self-signed certificate and its key, PEM encoded.
type testCert struct {
	cert, key string
	der       []byte
}

func newTestCert(t *testing.T, cn string, isCA bool) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              []string{cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		der:  der,
	}
}

// fixture is a store holding one entity of each kind other entities
// reference. Its ids replace "$consumer", "$consumer2", "$service",
// "$upstream" and "$certificate" in test inputs and expectations; "$cert"
// and "$key" stand for the PEM certificate and key.
type fixture struct {
	s    *store.Store
	vars map[string]string
	tc   testCert
}

var sharedCert testCert

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s := openStore(t, store.Options{})
	if sharedCert.cert == "" {
		sharedCert = newTestCert(t, "example.com", false)
	}
	f := &fixture{s: s, tc: sharedCert, vars: map[string]string{"$cert": sharedCert.cert, "$key": sharedCert.key}}
	for _, fx := range []struct{ v, entity string }{
		{"$consumer", "consumers"}, {"$consumer2", "consumers"}, {"$service", "services"},
		{"$upstream", "upstreams"}, {"$certificate", "certificates"},
	} {
		in := map[string]any{
			"consumers":    map[string]any{"username": strings.TrimPrefix(fx.v, "$") + "-alice"},
			"services":     map[string]any{"name": "svc", "host": "svc.test"},
			"upstreams":    map[string]any{"name": "up.test"},
			"certificates": map[string]any{"cert": sharedCert.cert, "key": sharedCert.key},
		}[fx.entity].(map[string]any)
		rec, err := s.Insert(ctx, fx.entity, in)
		if err != nil {
			t.Fatalf("fixture %s: %v", fx.entity, err)
		}
		f.vars[fx.v] = rec["id"].(string)
	}
	return f
}

// expand substitutes the fixture's variables in every string of v.
func (f *fixture) expand(v any) any {
	switch t := v.(type) {
	case string:
		// Longest names first: "$consumer2" before "$consumer".
		keys := make([]string, 0, len(f.vars))
		for k := range f.vars {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
		for _, k := range keys {
			t = strings.ReplaceAll(t, k, f.vars[k])
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = f.expand(e)
		}
		return out
	case schema.Errors:
		out := make(schema.Errors, len(t))
		for k, e := range t {
			out[k] = f.expand(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = f.expand(e)
		}
		return out
	}
	return v
}

type pre struct {
	entity string
	in     map[string]any
}

type entityCase struct {
	name   string
	entity string
	pre    []pre          // inserted first
	update string         // when set, PATCH the entity with this id or endpoint key instead of inserting
	upsert string         // when set, PUT the entity with this id or endpoint key instead of inserting
	in     map[string]any // as a form body gives it: strings
	code   store.Code     // 0: the insert succeeds
	msg    string         // exact error message
	prefix string         // error message prefix, for messages that quote a library error
	fields schema.Errors  // expected error fields
	want   map[string]any // expected values of the stored record's fields
	check  func(t *testing.T, f *fixture, rec map[string]any)
}

func runEntityCases(t *testing.T, cases []entityCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.entity+"/"+c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			for _, p := range c.pre {
				if _, err := f.s.Insert(ctx, p.entity, f.expand(p.in).(map[string]any)); err != nil {
					t.Fatalf("pre-insert %s: %v", p.entity, err)
				}
			}
			before, _ := f.s.Count(ctx, c.entity)
			in := f.expand(c.in).(map[string]any)
			op := "insert"
			var rec map[string]any
			var err error
			switch {
			case c.update != "":
				op = "update"
				rec, err = f.s.Update(ctx, c.entity, f.expand(c.update).(string), in)
			case c.upsert != "":
				op = "upsert"
				rec, err = f.s.Upsert(ctx, c.entity, f.expand(c.upsert).(string), in)
			default:
				rec, err = f.s.Insert(ctx, c.entity, in)
			}
			if c.code == 0 {
				if err != nil {
					t.Fatalf("%s: %v", op, err)
				}
				for k, v := range c.want {
					if got, want := rec[k], f.expand(v); !reflect.DeepEqual(got, want) {
						t.Errorf("%s = %#v, want %#v", k, got, want)
					}
				}
				if c.check != nil {
					c.check(t, f, rec)
				}
				// What was stored is what Get returns.
				got, err := f.s.Get(ctx, c.entity, rec["id"].(string))
				if err != nil {
					t.Fatalf("get: %v", err)
				}
				for k, v := range c.want {
					if want := f.expand(v); !reflect.DeepEqual(got[k], want) {
						t.Errorf("stored %s = %#v, want %#v", k, got[k], want)
					}
				}
				return
			}
			e, ok := store.AsError(err)
			if !ok {
				t.Fatalf("got %v (%T), want store error code %d", err, err, c.code)
			}
			if e.Code != c.code {
				t.Errorf("code = %d (%s), want %d; message %q", e.Code, e.Code.Name(), c.code, e.Message)
			}
			if c.msg != "" {
				if want := f.expand(c.msg).(string); e.Message != want {
					t.Errorf("message =\n%q\nwant\n%q", e.Message, want)
				}
			}
			if c.prefix != "" && !strings.HasPrefix(e.Message, c.prefix) {
				t.Errorf("message = %q, want prefix %q", e.Message, c.prefix)
			}
			if c.fields != nil {
				if want := f.expand(c.fields); !reflect.DeepEqual(e.Fields, want) {
					t.Errorf("fields = %#v, want %#v", e.Fields, want)
				}
			}
			if n, _ := f.s.Count(ctx, c.entity); n != before {
				t.Errorf("rejected %s changed the %s count from %d to %d", op, c.entity, before, n)
			}
		})
	}
}

func TestServices(t *testing.T) {
	const sv = store.CodeSchemaViolation
	runEntityCases(t, []entityCase{
		{name: "url https default port", entity: "services", in: map[string]any{"name": "s1", "url": "https://example.com"},
			want: map[string]any{"protocol": "https", "host": "example.com", "port": int64(443), "path": nil}},
		{name: "url http default port no path", entity: "services", in: map[string]any{"url": "http://example.com"},
			want: map[string]any{"protocol": "http", "host": "example.com", "port": int64(80), "path": nil}},
		{name: "url root path", entity: "services", in: map[string]any{"url": "http://example.com/"},
			want: map[string]any{"protocol": "http", "host": "example.com", "port": int64(80), "path": "/"}},
		{name: "url explicit port and path", entity: "services", in: map[string]any{"url": "http://iris:52773/crud/"},
			want: map[string]any{"protocol": "http", "host": "iris", "port": int64(52773), "path": "/crud/"}},
		{name: "url https explicit port", entity: "services", in: map[string]any{"url": "https://example.com:8443/api/v1"},
			want: map[string]any{"protocol": "https", "host": "example.com", "port": int64(8443), "path": "/api/v1"}},
		{name: "url http on 443", entity: "services", in: map[string]any{"url": "http://example.com:443"},
			want: map[string]any{"protocol": "http", "port": int64(443)}},
		{name: "url ip host", entity: "services", in: map[string]any{"url": "http://10.0.0.1:8080/x"},
			want: map[string]any{"host": "10.0.0.1", "port": int64(8080), "path": "/x"}},
		{name: "url overrides explicit fields", entity: "services",
			in:   map[string]any{"url": "http://a.test/x", "protocol": "https", "host": "b.test", "port": "9", "path": "/y"},
			want: map[string]any{"protocol": "http", "host": "a.test", "port": int64(80), "path": "/x"}},
		{name: "url is write-only", entity: "services", in: map[string]any{"url": "http://a.test"},
			check: func(t *testing.T, _ *fixture, rec map[string]any) {
				if _, ok := rec["url"]; ok {
					t.Errorf("url stored: %v", rec["url"])
				}
			}},
		{name: "defaults", entity: "services", in: map[string]any{"host": "example.com"},
			want: map[string]any{
				"name": nil, "retries": int64(5), "protocol": "http", "host": "example.com", "port": int64(80), "path": nil,
				"connect_timeout": int64(60000), "write_timeout": int64(60000), "read_timeout": int64(60000),
				"tags": nil, "client_certificate": nil, "tls_verify": nil, "tls_verify_depth": nil,
				"ca_certificates": nil, "enabled": true,
			},
			check: func(t *testing.T, _ *fixture, rec map[string]any) {
				if !store.IsUUID(rec["id"].(string)) {
					t.Errorf("id = %v", rec["id"])
				}
				if rec["created_at"].(int64) <= 0 || rec["updated_at"] != rec["created_at"] {
					t.Errorf("created_at %v updated_at %v", rec["created_at"], rec["updated_at"])
				}
			}},
		{name: "form strings typed", entity: "services", in: map[string]any{
			"protocol": "https", "host": "example.com", "port": "8443", "retries": "0", "enabled": "false",
			"tls_verify": "true", "tls_verify_depth": "3", "connect_timeout": "1", "tags": "t1",
		}, want: map[string]any{
			"port": int64(8443), "retries": int64(0), "enabled": false, "tls_verify": true,
			"tls_verify_depth": int64(3), "connect_timeout": int64(1), "tags": []any{"t1"},
		}},
		{name: "given id kept", entity: "services", in: map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86", "host": "a.test"},
			want: map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}},
		{name: "host ip", entity: "services", in: map[string]any{"host": "10.0.0.1"}, want: map[string]any{"host": "10.0.0.1"}},
		{name: "host with underscore", entity: "services", in: map[string]any{"host": "my_host.internal"}, want: map[string]any{"host": "my_host.internal"}},
		{name: "host missing", entity: "services", in: map[string]any{"name": "x"}, code: sv,
			msg: "schema violation (host: required field missing)", fields: schema.Errors{"host": "required field missing"}},
		{name: "host invalid", entity: "services", in: map[string]any{"host": "exa mple"}, code: sv,
			msg: "schema violation (host: invalid value: exa mple)"},
		{name: "host empty", entity: "services", in: map[string]any{"host": ""}, code: sv,
			msg: "schema violation (host: length must be at least 1)"},
		{name: "port out of range", entity: "services", in: map[string]any{"host": "a.test", "port": "99999"}, code: sv,
			msg: "schema violation (port: value should be between 0 and 65535)"},
		{name: "port not a number", entity: "services", in: map[string]any{"host": "a.test", "port": "http"}, code: sv,
			msg: "schema violation (port: expected an integer)"},
		{name: "retries not an integer", entity: "services", in: map[string]any{"host": "a.test", "retries": "many"}, code: sv,
			msg: "schema violation (retries: expected an integer)"},
		{name: "zero timeout", entity: "services", in: map[string]any{"host": "a.test", "connect_timeout": "0"}, code: sv,
			msg: "schema violation (connect_timeout: value should be between 1 and 2147483646)"},
		{name: "enabled not a boolean", entity: "services", in: map[string]any{"host": "a.test", "enabled": "yes"}, code: sv,
			msg: "schema violation (enabled: expected a boolean)"},
		{name: "relative path", entity: "services", in: map[string]any{"host": "a.test", "path": "api"}, code: sv,
			msg: "schema violation (path: should start with: /)"},
		{name: "tls_verify_depth out of range", entity: "services", in: map[string]any{"url": "https://a.test", "tls_verify_depth": "65"}, code: sv,
			msg: "schema violation (tls_verify_depth: value should be between 0 and 64)"},
		{name: "ca_certificates must be uuids", entity: "services", in: map[string]any{"url": "https://a.test", "ca_certificates": "nope"}, code: sv,
			msg: "schema violation (ca_certificates.1: expected a valid UUID)", fields: schema.Errors{"ca_certificates": []any{"expected a valid UUID"}}},
		{name: "unknown field", entity: "services", in: map[string]any{"host": "a.test", "bogus": "1"}, code: sv,
			msg: "schema violation (bogus: unknown field)", fields: schema.Errors{"bogus": "unknown field"}},
		{name: "two violations", entity: "services", in: map[string]any{"host": "a.test", "port": "99999", "retries": "-1"}, code: sv,
			msg: "2 schema violations (port: value should be between 0 and 65535; retries: value should be between 0 and 32767)"},
		{name: "duplicate name", entity: "services", pre: []pre{{"services", map[string]any{"name": "dup", "host": "a.test"}}},
			in: map[string]any{"name": "dup", "host": "b.test"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{name="dup"}'`, fields: schema.Errors{"name": "dup"}},
		{name: "client certificate", entity: "services", in: map[string]any{"url": "https://a.test", "client_certificate": map[string]any{"id": "$certificate"}},
			want: map[string]any{"client_certificate": map[string]any{"id": "$certificate"}}},
		{name: "client certificate missing", entity: "services", in: map[string]any{"url": "https://a.test", "client_certificate": map[string]any{"id": missingID}},
			code: store.CodeForeignKeyViolation,
			msg:  `the foreign key '{id="` + missingID + `"}' does not reference an existing 'certificates' entity.`},
		{name: "tags deduplicated", entity: "services", in: map[string]any{"host": "a.test", "tags": []any{"b", "a", "b"}},
			want: map[string]any{"tags": []any{"b", "a"}}},
		{name: "tag with comma", entity: "services", in: map[string]any{"host": "a.test", "tags": "a,b"}, code: sv,
			msg: "schema violation (tags.1: invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences)"},
		{name: "null tag", entity: "services", in: map[string]any{"host": "a", "tags": []any{nil}}, code: sv,
			msg: "schema violation (tags.1: required field missing)", fields: schema.Errors{"tags": []any{"required field missing"}}},
		{name: "conversion error reported with missing host", entity: "services", in: map[string]any{"connect_timeout": "abc"}, code: sv,
			msg:    "2 schema violations (connect_timeout: expected an integer; host: required field missing)",
			fields: schema.Errors{"connect_timeout": "expected an integer", "host": "required field missing"}},
		{name: "url grpcs default port", entity: "services", in: map[string]any{"url": "grpcs://example.com"},
			want: map[string]any{"protocol": "grpcs", "host": "example.com", "port": int64(80), "path": nil}},
		{name: "host with port", entity: "services", in: map[string]any{"host": "example.com:80"}, code: sv,
			msg: "schema violation (host: must not have a port)", fields: schema.Errors{"host": "must not have a port"}},
		{name: "tcp with path", entity: "services", in: map[string]any{"host": "a", "protocol": "tcp", "path": "/x"}, code: sv,
			msg: "2 schema violations (failed conditional validation given value of field 'protocol'; path: value must be null)",
			fields: schema.Errors{"@entity": []any{"failed conditional validation given value of field 'protocol'"},
				"path": "value must be null"}},
		{name: "client certificate over http", entity: "services", in: map[string]any{"host": "a", "client_certificate": map[string]any{"id": "$certificate"}}, code: sv,
			msg: "2 schema violations (failed conditional validation given value of field 'protocol'; client_certificate: value must be null)",
			fields: schema.Errors{"@entity": []any{"failed conditional validation given value of field 'protocol'"},
				"client_certificate": "value must be null"}},
		{name: "tls_verify over http", entity: "services", in: map[string]any{"host": "a", "tls_verify": "true"}, code: sv,
			msg: "2 schema violations (failed conditional validation given value of field 'protocol'; tls_verify: value must be null)",
			fields: schema.Errors{"@entity": []any{"failed conditional validation given value of field 'protocol'"},
				"tls_verify": "value must be null"}},
		{name: "empty ca certificate id", entity: "services", in: map[string]any{"url": "https://a.test", "ca_certificates": []any{""}}, code: sv,
			msg: "schema violation (ca_certificates.1: expected a valid UUID)", fields: schema.Errors{"ca_certificates": []any{"expected a valid UUID"}}},
		{name: "name with space", entity: "services", in: map[string]any{"name": "my service", "host": "a"}, code: sv,
			msg: "schema violation (name: invalid value 'my service': the only accepted ascii characters are alphanumerics or ., -, _, and ~)"},
		{name: "name with any non-ASCII character, as Kong's utf8_name", entity: "services", in: map[string]any{"name": "café-☕", "host": "a"},
			want: map[string]any{"name": "café-☕"}},
		{name: "name with ASCII punctuation", entity: "services", in: map[string]any{"name": "a/b", "host": "a"}, code: sv,
			msg: "schema violation (name: invalid value 'a/b': the only accepted ascii characters are alphanumerics or ., -, _, and ~)"},
	})
}

func TestRoutes(t *testing.T) {
	const sv = store.CodeSchemaViolation
	const pathErr = "should start with: / (fixed path) or ~/ (regex path)"
	runEntityCases(t, []entityCase{
		{name: "prefix path with star", entity: "routes", in: map[string]any{"paths": "/persons/*"},
			want: map[string]any{
				"paths": []any{"/persons/*"}, "protocols": []any{"http", "https"}, "methods": nil, "hosts": nil,
				"headers": nil, "snis": nil, "sources": nil, "destinations": nil, "service": nil, "name": nil, "tags": nil,
				"https_redirect_status_code": int64(426), "regex_priority": int64(0), "strip_path": true,
				"path_handling": "v0", "preserve_host": false, "request_buffering": true, "response_buffering": true,
			}},
		{name: "several paths", entity: "routes", in: map[string]any{"paths": []any{"/a", "/b/c"}},
			want: map[string]any{"paths": []any{"/a", "/b/c"}}},
		{name: "relative path", entity: "routes", in: map[string]any{"paths": "persons"}, code: sv,
			msg: "schema violation (paths.1: " + pathErr + ")", fields: schema.Errors{"paths": []any{pathErr}}},
		{name: "second path relative", entity: "routes", in: map[string]any{"paths": []any{"/ok", "bad"}}, code: sv,
			msg: "schema violation (paths.2: " + pathErr + ")", fields: schema.Errors{"paths": []any{nil, pathErr}}},
		{name: "regex path", entity: "routes", in: map[string]any{"paths": `~/p/(?<id>\d+)`},
			want: map[string]any{"paths": []any{`~/p/(?<id>\d+)`}}},
		{name: "regex without slash", entity: "routes", in: map[string]any{"paths": "~p"}, code: sv,
			msg: "schema violation (paths.1: " + pathErr + ")"},
		{name: "invalid regex", entity: "routes", in: map[string]any{"paths": "~/p/("}, code: sv,
			prefix: "schema violation (paths.1: invalid regex: '/p/(' ("},
		{name: "nothing to match", entity: "routes", in: map[string]any{}, code: sv,
			msg:    "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
			fields: schema.Errors{"@entity": []any{"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"}}},
		{name: "nothing to match over http", entity: "routes", in: map[string]any{"protocols": "http"}, code: sv,
			msg: "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http')"},
		{name: "nothing to match over https", entity: "routes", in: map[string]any{"protocols": "https"}, code: sv,
			msg: "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')"},
		{name: "sni is enough over https", entity: "routes", in: map[string]any{"protocols": "https", "snis": "example.com"},
			want: map[string]any{"protocols": []any{"https"}, "snis": []any{"example.com"}}},
		{name: "methods only", entity: "routes", in: map[string]any{"methods": []any{"GET", "POST", "GET"}},
			want: map[string]any{"methods": []any{"GET", "POST"}}},
		{name: "lowercase method", entity: "routes", in: map[string]any{"paths": "/", "methods": "get"}, code: sv,
			msg: "schema violation (methods.1: invalid value: get)"},
		{name: "host wildcard leftmost", entity: "routes", in: map[string]any{"hosts": "*.example.com"},
			want: map[string]any{"hosts": []any{"*.example.com"}}},
		{name: "host wildcard rightmost", entity: "routes", in: map[string]any{"hosts": "example.*"},
			want: map[string]any{"hosts": []any{"example.*"}}},
		{name: "host with port", entity: "routes", in: map[string]any{"hosts": []any{"example.com:8080", "api.example.com"}},
			want: map[string]any{"hosts": []any{"example.com:8080", "api.example.com"}}},
		{name: "host invalid", entity: "routes", in: map[string]any{"hosts": "exa mple.com"}, code: sv,
			prefix: "schema violation (hosts.1: "},
		{name: "headers", entity: "routes", in: map[string]any{"headers": map[string]any{"x-version": "v1"}},
			want: map[string]any{"headers": map[string]any{"x-version": []any{"v1"}}}},
		{name: "form typed flags", entity: "routes", in: map[string]any{
			"paths": "/", "strip_path": "false", "preserve_host": "true", "regex_priority": "5",
			"https_redirect_status_code": "301", "path_handling": "v1", "request_buffering": "false",
		}, want: map[string]any{
			"strip_path": false, "preserve_host": true, "regex_priority": int64(5),
			"https_redirect_status_code": int64(301), "path_handling": "v1", "request_buffering": false,
		}},
		{name: "redirect code", entity: "routes", in: map[string]any{"paths": "/", "https_redirect_status_code": "400"}, code: sv,
			msg: "schema violation (https_redirect_status_code: expected one of: 426, 301, 302, 307, 308)"},
		{name: "path handling", entity: "routes", in: map[string]any{"paths": "/", "path_handling": "v2"}, code: sv,
			msg: "schema violation (path_handling: expected one of: v0, v1)"},
		{name: "unknown protocol", entity: "routes", in: map[string]any{"paths": "/", "protocols": "ftp"}, code: sv,
			prefix: "schema violation (protocols.1: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"},
		{name: "empty protocols", entity: "routes", in: map[string]any{"paths": "/", "protocols": map[string]any{}}, code: sv,
			msg: "schema violation (protocols: length must be at least 1)"},
		{name: "tcp with source", entity: "routes", in: map[string]any{"protocols": "tcp", "sources": []any{map[string]any{"ip": "10.0.0.1", "port": "80"}}},
			want: map[string]any{"protocols": []any{"tcp"}, "sources": []any{map[string]any{"ip": "10.0.0.1", "port": int64(80)}}}},
		{name: "source port out of range", entity: "routes", in: map[string]any{"protocols": "tcp", "sources": []any{map[string]any{"port": "70000"}}}, code: sv,
			fields: schema.Errors{"sources": []any{schema.Errors{"port": "value should be between 0 and 65535"}}}},
		{name: "service by id", entity: "routes", in: map[string]any{"paths": "/x", "service": map[string]any{"id": "$service"}},
			want: map[string]any{"service": map[string]any{"id": "$service"}}},
		{name: "service by name", entity: "routes", in: map[string]any{"paths": "/x", "service": map[string]any{"name": "svc"}},
			want: map[string]any{"service": map[string]any{"id": "$service"}}},
		{name: "service missing", entity: "routes", in: map[string]any{"paths": "/x", "service": map[string]any{"id": missingID}},
			code: store.CodeForeignKeyViolation,
			msg:  `the foreign key '{id="` + missingID + `"}' does not reference an existing 'services' entity.`,
			fields: schema.Errors{"service": `the foreign key '{id="` + missingID +
				`"}' does not reference an existing 'services' entity.`}},
		{name: "service bad id", entity: "routes", in: map[string]any{"paths": "/x", "service": map[string]any{"id": "nope"}}, code: sv,
			msg: "schema violation (service.id: expected a valid UUID)", fields: schema.Errors{"service": schema.Errors{"id": "expected a valid UUID"}}},
		{name: "duplicate name", entity: "routes", pre: []pre{{"routes", map[string]any{"name": "r", "paths": "/a"}}},
			in: map[string]any{"name": "r", "paths": "/b"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{name="r"}'`},
		{name: "null path", entity: "routes", in: map[string]any{"paths": []any{nil}}, code: sv,
			msg: "schema violation (paths.1: required field missing)", fields: schema.Errors{"paths": []any{"required field missing"}}},
		{name: "null header value", entity: "routes", in: map[string]any{"paths": "/", "headers": map[string]any{"x-a": nil}}, code: sv,
			msg: "schema violation (headers: required field missing)", fields: schema.Errors{"headers": "required field missing"}},
		{name: "host with two wildcards", entity: "routes", in: map[string]any{"hosts": "*.example.*"}, code: sv,
			msg: "schema violation (hosts.1: invalid wildcard: must have at most one wildcard)"},
		{name: "host wildcard inside a label", entity: "routes", in: map[string]any{"hosts": "ex*ample.com"}, code: sv,
			msg: "schema violation (hosts.1: invalid wildcard: must be placed at leftmost or rightmost label)"},
		{name: "path empty segment", entity: "routes", in: map[string]any{"paths": "//x"}, code: sv,
			msg: "schema violation (paths.1: must not have empty segments)", fields: schema.Errors{"paths": []any{"must not have empty segments"}}},
		{name: "nothing to match over tcp", entity: "routes", in: map[string]any{"protocols": "tcp"}, code: sv,
			msg:    "schema violation (must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp')",
			fields: schema.Errors{"@entity": []any{"must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"}}},
		{name: "nothing to match over grpc", entity: "routes", in: map[string]any{"protocols": "grpc", "strip_path": "false"}, code: sv,
			msg:    "schema violation (must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc')",
			fields: schema.Errors{"@entity": []any{"must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'"}}},
		{name: "source ip invalid", entity: "routes", in: map[string]any{"protocols": "tcp", "sources": []any{map[string]any{"ip": "zzz"}}}, code: sv,
			fields: schema.Errors{"sources": []any{schema.Errors{"ip": "invalid ip or cidr range: 'zzz'"}}}},
		{name: "host header", entity: "routes", in: map[string]any{"headers": map[string]any{"host": "x"}}, code: sv,
			msg:    "schema violation (headers: cannot contain 'host' header, which must be specified in the 'hosts' attribute)",
			fields: schema.Errors{"headers": "cannot contain 'host' header, which must be specified in the 'hosts' attribute"}},
		{name: "service name unresolved", entity: "routes", in: map[string]any{"paths": "/x", "service": map[string]any{"name": "nope"}},
			code:   store.CodeForeignKeysUnresolved,
			msg:    `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="nope"}' for an existing 'services' entity)`,
			fields: schema.Errors{"service": schema.Errors{"name": `the foreign key cannot be resolved with '{name="nope"}' for an existing 'services' entity`}}},
		{name: "empty path handling", entity: "routes", in: map[string]any{"paths": "/", "path_handling": ""}, code: sv,
			msg: "schema violation (path_handling: expected one of: v0, v1)"},
	})
}

func TestConsumers(t *testing.T) {
	runEntityCases(t, []entityCase{
		{name: "needs username or custom_id", entity: "consumers", in: map[string]any{}, code: store.CodeSchemaViolation,
			msg:    "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
			fields: schema.Errors{"@entity": []any{"at least one of these fields must be non-empty: 'custom_id', 'username'"}}},
		{name: "null username and custom_id", entity: "consumers", in: map[string]any{"username": nil, "custom_id": nil}, code: store.CodeSchemaViolation,
			msg: "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')"},
		{name: "username only", entity: "consumers", in: map[string]any{"username": "bob"},
			want: map[string]any{"username": "bob", "custom_id": nil, "tags": nil}},
		{name: "custom_id only", entity: "consumers", in: map[string]any{"custom_id": "c-1"},
			want: map[string]any{"username": nil, "custom_id": "c-1"}},
		{name: "duplicate username", entity: "consumers", in: map[string]any{"username": "consumer-alice"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{username="consumer-alice"}'`},
		{name: "duplicate custom_id", entity: "consumers", pre: []pre{{"consumers", map[string]any{"custom_id": "c-1"}}},
			in: map[string]any{"custom_id": "c-1"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{custom_id="c-1"}'`},
		{name: "tags", entity: "consumers", in: map[string]any{"username": "bob", "tags": []any{"a", "b", "a"}},
			want: map[string]any{"tags": []any{"a", "b"}}},
		{name: "invalid tag and no name", entity: "consumers", in: map[string]any{"tags": "a,b"}, code: store.CodeSchemaViolation,
			msg: "2 schema violations (at least one of these fields must be non-empty: 'custom_id', 'username'; " +
				"tags.1: invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences)"},
	})
}

func defaultHealthchecks() map[string]any {
	ints := func(v ...int64) []any {
		out := make([]any, len(v))
		for i, n := range v {
			out[i] = n
		}
		return out
	}
	return map[string]any{
		"active": map[string]any{
			"type": "http", "timeout": float64(1), "concurrency": int64(10), "http_path": "/",
			"https_sni": nil, "https_verify_certificate": true, "headers": nil,
			"healthy": map[string]any{"interval": float64(0), "http_statuses": ints(200, 302), "successes": int64(0)},
			"unhealthy": map[string]any{"interval": float64(0), "http_statuses": ints(429, 404, 500, 501, 502, 503, 504, 505),
				"tcp_failures": int64(0), "timeouts": int64(0), "http_failures": int64(0)},
		},
		"passive": map[string]any{
			"type":    "http",
			"healthy": map[string]any{"http_statuses": ints(200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308), "successes": int64(0)},
			"unhealthy": map[string]any{"http_statuses": ints(429, 500, 503),
				"tcp_failures": int64(0), "timeouts": int64(0), "http_failures": int64(0)},
		},
		"threshold": float64(0),
	}
}

// wantHealthchecks checks that a written upstream holds the default
// healthchecks.
func wantHealthchecks(t *testing.T, _ *fixture, rec map[string]any) {
	if want := defaultHealthchecks(); !reflect.DeepEqual(rec["healthchecks"], want) {
		t.Errorf("healthchecks =\n%#v\nwant\n%#v", rec["healthchecks"], want)
	}
}

func TestUpstreamsAndTargets(t *testing.T) {
	const sv = store.CodeSchemaViolation
	const targetID = "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"
	partial := defaultHealthchecks()
	active := partial["active"].(map[string]any)
	active["http_path"] = "/status"
	active["healthy"].(map[string]any)["successes"] = int64(3)
	runEntityCases(t, []entityCase{
		{name: "defaults", entity: "upstreams", in: map[string]any{"name": "backend.svc"}, check: func(t *testing.T, _ *fixture, rec map[string]any) {
			want := map[string]any{
				"name": "backend.svc", "algorithm": "round-robin", "hash_on": "none", "hash_fallback": "none",
				"hash_on_header": nil, "hash_fallback_header": nil, "hash_on_cookie": nil, "hash_on_cookie_path": "/",
				"hash_on_query_arg": nil, "hash_fallback_query_arg": nil, "hash_on_uri_capture": nil,
				"hash_fallback_uri_capture": nil, "slots": int64(10000), "tags": nil, "host_header": nil,
				"client_certificate": nil, "use_srv_name": false, "healthchecks": defaultHealthchecks(),
			}
			for k, v := range want {
				if !reflect.DeepEqual(rec[k], v) {
					t.Errorf("%s = %#v, want %#v", k, rec[k], v)
				}
			}
		}},
		{name: "partial healthchecks keep defaults", entity: "upstreams", in: map[string]any{"name": "u2", "healthchecks": map[string]any{
			"active": map[string]any{"http_path": "/status", "healthy": map[string]any{"successes": "3"}},
		}}, check: func(t *testing.T, _ *fixture, rec map[string]any) {
			if !reflect.DeepEqual(rec["healthchecks"], partial) {
				t.Errorf("healthchecks =\n%#v\nwant\n%#v", rec["healthchecks"], partial)
			}
		}},
		{name: "form typed", entity: "upstreams", in: map[string]any{"name": "u3", "slots": "100", "algorithm": "least-connections", "use_srv_name": "true"},
			want: map[string]any{"slots": int64(100), "algorithm": "least-connections", "use_srv_name": true}},
		{name: "name invalid", entity: "upstreams", in: map[string]any{"name": "my upstream"}, code: sv,
			msg: "schema violation (name: Invalid name ('my upstream'); must be a valid hostname)"},
		{name: "name missing", entity: "upstreams", in: map[string]any{}, code: sv,
			msg: "schema violation (name: required field missing)"},
		{name: "duplicate name", entity: "upstreams", in: map[string]any{"name": "up.test"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{name="up.test"}'`},
		{name: "slots", entity: "upstreams", in: map[string]any{"name": "u4", "slots": "5"}, code: sv,
			msg: "schema violation (slots: value should be between 10 and 65536)"},
		{name: "algorithm", entity: "upstreams", in: map[string]any{"name": "u5", "algorithm": "random"}, code: sv,
			msg: "schema violation (algorithm: expected one of: consistent-hashing, least-connections, round-robin, latency)"},
		{name: "hash_on", entity: "upstreams", in: map[string]any{"name": "u6", "hash_on": "body"}, code: sv,
			msg: "schema violation (hash_on: expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture)"},
		{name: "nested counter out of range", entity: "upstreams",
			in:   map[string]any{"name": "u7", "healthchecks": map[string]any{"active": map[string]any{"healthy": map[string]any{"successes": "300"}}}},
			code: sv, fields: schema.Errors{"healthchecks": schema.Errors{"active": schema.Errors{"healthy": schema.Errors{"successes": "value should be between 0 and 255"}}}}},
		{name: "nested number not a number", entity: "upstreams",
			in:   map[string]any{"name": "u8", "healthchecks": map[string]any{"threshold": "half"}},
			code: sv, msg: "schema violation (healthchecks.threshold: expected a number)",
			fields: schema.Errors{"healthchecks": schema.Errors{"threshold": "expected a number"}}},
		{name: "nested threshold out of range", entity: "upstreams",
			in:   map[string]any{"name": "u9", "healthchecks": map[string]any{"threshold": "101"}},
			code: sv, msg: "schema violation (healthchecks.threshold: value should be between 0 and 100)"},
		{name: "nested unknown field", entity: "upstreams",
			in:   map[string]any{"name": "u10", "healthchecks": map[string]any{"bogus": "1"}},
			code: sv, msg: "schema violation (healthchecks.bogus: unknown field)"},

		{name: "default port 8000", entity: "targets", in: map[string]any{"target": "10.0.0.1", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"target": "10.0.0.1:8000", "weight": int64(100), "upstream": map[string]any{"id": "$upstream"}, "tags": nil},
			check: func(t *testing.T, _ *fixture, rec map[string]any) {
				if _, ok := rec["created_at"].(float64); !ok {
					t.Errorf("created_at = %#v, want a number (seconds)", rec["created_at"])
				}
			}},
		{name: "hostname default port", entity: "targets", in: map[string]any{"target": "example.com", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"target": "example.com:8000"}},
		{name: "explicit port kept", entity: "targets", in: map[string]any{"target": "example.com:9000", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"target": "example.com:9000"}},
		{name: "bare ipv6", entity: "targets", in: map[string]any{"target": "::1", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"target": "[::1]:8000"}},
		{name: "bracketed ipv6", entity: "targets", in: map[string]any{"target": "[::1]", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"target": "[::1]:8000"}},
		{name: "ipv6 with port", entity: "targets", in: map[string]any{"target": "[::1]:9000", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"target": "[::1]:9000"}},
		{name: "upstream by name", entity: "targets", in: map[string]any{"target": "10.0.0.2", "upstream": map[string]any{"name": "up.test"}},
			want: map[string]any{"upstream": map[string]any{"id": "$upstream"}}},
		{name: "weight", entity: "targets", in: map[string]any{"target": "10.0.0.1", "weight": "0", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"weight": int64(0)}},
		{name: "weight out of range", entity: "targets", in: map[string]any{"target": "10.0.0.1", "weight": "70000", "upstream": map[string]any{"id": "$upstream"}},
			code: sv, msg: "schema violation (weight: value should be between 0 and 65535)"},
		{name: "upstream missing", entity: "targets", in: map[string]any{"target": "10.0.0.1"}, code: sv,
			msg: "schema violation (upstream: required field missing)"},
		{name: "target missing", entity: "targets", in: map[string]any{"upstream": map[string]any{"id": "$upstream"}}, code: sv,
			msg: "schema violation (target: required field missing)"},
		{name: "target invalid", entity: "targets", in: map[string]any{"target": "bad target!", "upstream": map[string]any{"id": "$upstream"}}, code: sv,
			prefix: "schema violation (target: Invalid target ('bad target!"},
		{name: "duplicate target", entity: "targets", pre: []pre{{"targets", map[string]any{"target": "10.0.0.1", "upstream": map[string]any{"id": "$upstream"}}}},
			in: map[string]any{"target": "10.0.0.1:8000", "upstream": map[string]any{"id": "$upstream"}}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{target="10.0.0.1:8000",upstream={id="$upstream"}}'`},
		{name: "name is an ip", entity: "upstreams", in: map[string]any{"name": "10.0.0.1"}, code: sv,
			msg: "schema violation (name: Invalid name ('10.0.0.1'); no ip addresses allowed)"},
		{name: "name with port", entity: "upstreams", in: map[string]any{"name": "host:80"}, code: sv,
			msg: "schema violation (name: Invalid name ('host:80'); no port allowed)"},
		{name: "hash_on header without header", entity: "upstreams", in: map[string]any{"name": "u11", "hash_on": "header"}, code: sv,
			msg: "2 schema violations (failed conditional validation given value of field 'hash_on'; hash_on_header: required field missing)",
			fields: schema.Errors{"@entity": []any{"failed conditional validation given value of field 'hash_on'"},
				"hash_on_header": "required field missing"}},
		// Numbers read back from storage (healthchecks' 1 and 0 are number
		// fields) must not fail validation on a later write.
		{name: "patch slots", entity: "upstreams", update: "up.test", in: map[string]any{"slots": "20"},
			want: map[string]any{"id": "$upstream", "name": "up.test", "slots": int64(20)}, check: wantHealthchecks},
		{name: "put slots", entity: "upstreams", upsert: "up.test", in: map[string]any{"slots": "20"},
			want: map[string]any{"id": "$upstream", "name": "up.test", "slots": int64(20)}, check: wantHealthchecks},
		{name: "patch weight", entity: "targets",
			pre:    []pre{{"targets", map[string]any{"id": targetID, "target": "10.0.0.1", "upstream": map[string]any{"id": "$upstream"}}}},
			update: targetID, in: map[string]any{"weight": "5"},
			want: map[string]any{"id": targetID, "target": "10.0.0.1:8000", "weight": int64(5), "upstream": map[string]any{"id": "$upstream"}}},
		{name: "put existing", entity: "targets",
			pre:    []pre{{"targets", map[string]any{"id": targetID, "target": "10.0.0.1", "upstream": map[string]any{"id": "$upstream"}}}},
			upsert: targetID, in: map[string]any{"target": "10.0.0.2", "weight": "5", "upstream": map[string]any{"id": "$upstream"}},
			want: map[string]any{"id": targetID, "target": "10.0.0.2:8000", "weight": int64(5), "upstream": map[string]any{"id": "$upstream"}}},
	})
}

func TestCertificates(t *testing.T) {
	const sv = store.CodeSchemaViolation
	ca := newTestCert(t, "ca.example.com", true)
	other := newTestCert(t, "other.example.com", false)
	caDigest := sha256.Sum256(ca.der)
	runEntityCases(t, []entityCase{
		{name: "self-signed", entity: "certificates", in: map[string]any{"cert": "$cert", "key": "$key", "tags": "t"},
			want: map[string]any{"cert": "$cert", "key": "$key", "cert_alt": nil, "key_alt": nil, "tags": []any{"t"}}},
		{name: "cert garbage", entity: "certificates", in: map[string]any{"cert": "garbage", "key": "$key"}, code: sv,
			prefix: "schema violation (cert: invalid certificate: "},
		{name: "key given as cert", entity: "certificates", in: map[string]any{"cert": "$key", "key": "$key"}, code: sv,
			prefix: "schema violation (cert: invalid certificate: "},
		{name: "key garbage", entity: "certificates", in: map[string]any{"cert": "$cert", "key": "garbage"}, code: sv,
			prefix: "schema violation (key: invalid key: "},
		{name: "cert missing", entity: "certificates", in: map[string]any{"key": "$key"}, code: sv,
			msg: "schema violation (cert: required field missing)"},
		{name: "both missing", entity: "certificates", in: map[string]any{}, code: sv,
			msg: "2 schema violations (cert: required field missing; key: required field missing)"},
		{name: "cert_alt without key_alt", entity: "certificates", in: map[string]any{"cert": "$cert", "key": "$key", "cert_alt": "$cert"}, code: sv,
			msg: "schema violation (all or none of these fields must be set: 'cert_alt', 'key_alt')"},
		{name: "key of another certificate", entity: "certificates", in: map[string]any{"cert": "$cert", "key": other.key}, code: sv,
			msg: "schema violation (certificate does not match key)", fields: schema.Errors{"@entity": []any{"certificate does not match key"}}},

		{name: "ca certificate digest", entity: "ca_certificates", in: map[string]any{"cert": ca.cert},
			want: map[string]any{"cert": ca.cert, "cert_digest": hex.EncodeToString(caDigest[:])}},
		{name: "ca certificate garbage", entity: "ca_certificates", in: map[string]any{"cert": "garbage"}, code: sv,
			prefix: "schema violation (cert: invalid certificate: "},

		{name: "sni", entity: "snis", in: map[string]any{"name": "example.com", "certificate": map[string]any{"id": "$certificate"}},
			want: map[string]any{"name": "example.com", "certificate": map[string]any{"id": "$certificate"}}},
		{name: "wildcard sni", entity: "snis", in: map[string]any{"name": "*.example.com", "certificate": map[string]any{"id": "$certificate"}},
			want: map[string]any{"name": "*.example.com"}},
		{name: "sni ip", entity: "snis", in: map[string]any{"name": "10.0.0.1", "certificate": map[string]any{"id": "$certificate"}}, code: sv,
			msg: "schema violation (name: must not be an IP)"},
		{name: "sni certificate missing", entity: "snis", in: map[string]any{"name": "example.com"}, code: sv,
			msg: "schema violation (certificate: required field missing)"},
		{name: "sni duplicate", entity: "snis", pre: []pre{{"snis", map[string]any{"name": "example.com", "certificate": map[string]any{"id": "$certificate"}}}},
			in: map[string]any{"name": "example.com", "certificate": map[string]any{"id": "$certificate"}}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{name="example.com"}'`},
	})
}

var token32 = regexp.MustCompile(`^[0-9A-Za-z]{32}$`)

func wantToken(fields ...string) func(t *testing.T, _ *fixture, rec map[string]any) {
	return func(t *testing.T, _ *fixture, rec map[string]any) {
		for _, f := range fields {
			if s, _ := rec[f].(string); !token32.MatchString(s) {
				t.Errorf("%s = %#v, want a generated 32-character token", f, rec[f])
			}
		}
	}
}

func TestCredentials(t *testing.T) {
	const sv = store.CodeSchemaViolation
	consumer := map[string]any{"id": "$consumer"}
	runEntityCases(t, []entityCase{
		{name: "password hashed", entity: "basicauth_credentials", in: map[string]any{"consumer": consumer, "username": "bob", "password": "secret"},
			want: map[string]any{"username": "bob", "consumer": consumer, "tags": nil},
			check: func(t *testing.T, f *fixture, rec map[string]any) {
				sum := sha1.Sum([]byte("secret" + f.vars["$consumer"]))
				if want := hex.EncodeToString(sum[:]); rec["password"] != want {
					t.Errorf("password = %v, want sha1(password..consumer_id) %s", rec["password"], want)
				}
				if want := basicauth.HashPassword("secret", f.vars["$consumer"]); rec["password"] != want {
					t.Errorf("HashPassword = %s, stored %v", want, rec["password"])
				}
				if _, ok := rec["updated_at"]; ok {
					t.Errorf("credential has updated_at")
				}
			}},
		{name: "basic-auth duplicate username", entity: "basicauth_credentials",
			pre: []pre{{"basicauth_credentials", map[string]any{"consumer": consumer, "username": "bob", "password": "a"}}},
			in:  map[string]any{"consumer": map[string]any{"id": "$consumer2"}, "username": "bob", "password": "b"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{username="bob"}'`},
		{name: "basic-auth password missing", entity: "basicauth_credentials", in: map[string]any{"consumer": consumer, "username": "bob"}, code: sv,
			msg: "schema violation (password: required field missing)", fields: schema.Errors{"password": "required field missing"}},
		{name: "basic-auth consumer missing", entity: "basicauth_credentials", in: map[string]any{"username": "bob", "password": "a"}, code: sv,
			msg: "schema violation (consumer: required field missing)"},
		{name: "basic-auth consumer unknown", entity: "basicauth_credentials",
			in:   map[string]any{"consumer": map[string]any{"id": missingID}, "username": "bob", "password": "a"},
			code: store.CodeForeignKeyViolation,
			msg:  `the foreign key '{id="` + missingID + `"}' does not reference an existing 'consumers' entity.`},
		{name: "basic-auth consumer by username", entity: "basicauth_credentials",
			in:   map[string]any{"consumer": map[string]any{"username": "consumer-alice"}, "username": "bob", "password": "a"},
			want: map[string]any{"consumer": consumer}},

		{name: "key generated", entity: "keyauth_credentials", in: map[string]any{"consumer": consumer},
			want: map[string]any{"consumer": consumer, "tags": nil}, check: wantToken("key")},
		{name: "key given", entity: "keyauth_credentials", in: map[string]any{"consumer": consumer, "key": "my-key"},
			want: map[string]any{"key": "my-key"}},
		{name: "key duplicate", entity: "keyauth_credentials", pre: []pre{{"keyauth_credentials", map[string]any{"consumer": consumer, "key": "my-key"}}},
			in: map[string]any{"consumer": map[string]any{"id": "$consumer2"}, "key": "my-key"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{key="my-key"}'`},

		{name: "jwt defaults", entity: "jwt_secrets", in: map[string]any{"consumer": consumer},
			want:  map[string]any{"algorithm": "HS256", "rsa_public_key": nil, "consumer": consumer},
			check: wantToken("key", "secret")},
		{name: "jwt given key", entity: "jwt_secrets", in: map[string]any{"consumer": consumer, "key": "iss-1", "secret": "s3cr3t", "algorithm": "HS512"},
			want: map[string]any{"key": "iss-1", "secret": "s3cr3t", "algorithm": "HS512"}},
		{name: "jwt algorithm", entity: "jwt_secrets", in: map[string]any{"consumer": consumer, "algorithm": "XX"}, code: sv,
			msg: "schema violation (algorithm: expected one of: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA)"},
		{name: "jwt rsa without public key", entity: "jwt_secrets", in: map[string]any{"consumer": consumer, "algorithm": "RS256"}, code: sv,
			msg: "2 schema violations (failed conditional validation given value of field 'algorithm'; rsa_public_key: required field missing)",
			fields: schema.Errors{"@entity": []any{"failed conditional validation given value of field 'algorithm'"},
				"rsa_public_key": "required field missing"}},
		{name: "jwt key duplicate", entity: "jwt_secrets", pre: []pre{{"jwt_secrets", map[string]any{"consumer": consumer, "key": "iss-1"}}},
			in: map[string]any{"consumer": consumer, "key": "iss-1"}, code: store.CodeUniqueViolation,
			msg: `UNIQUE violation detected on '{key="iss-1"}'`},

		{name: "acl", entity: "acls", in: map[string]any{"consumer": consumer, "group": "user"},
			want: map[string]any{"group": "user", "consumer": consumer}},
		{name: "acl duplicate group", entity: "acls", pre: []pre{{"acls", map[string]any{"consumer": consumer, "group": "user"}}},
			in: map[string]any{"consumer": consumer, "group": "user"}, code: store.CodeUniqueViolation,
			msg:    `UNIQUE violation detected on '{consumer={id="$consumer"},group="user"}'`,
			fields: schema.Errors{"consumer": map[string]any{"id": "$consumer"}, "group": "user"}},
		{name: "acl same group other consumer", entity: "acls", pre: []pre{{"acls", map[string]any{"consumer": consumer, "group": "user"}}},
			in: map[string]any{"consumer": map[string]any{"id": "$consumer2"}, "group": "user"}, want: map[string]any{"group": "user"}},
		{name: "acl group missing", entity: "acls", in: map[string]any{"consumer": consumer}, code: sv,
			msg: "schema violation (group: required field missing)"},

		{name: "hmac secret generated", entity: "hmacauth_credentials", in: map[string]any{"consumer": consumer, "username": "h"},
			want: map[string]any{"username": "h"}, check: wantToken("secret")},
		{name: "hmac username missing", entity: "hmacauth_credentials", in: map[string]any{"consumer": consumer}, code: sv,
			msg: "schema violation (username: required field missing)"},

		{name: "oauth2 defaults", entity: "oauth2_credentials", in: map[string]any{"consumer": consumer, "name": "app", "redirect_uris": "https://app.test/cb"},
			want:  map[string]any{"name": "app", "hash_secret": false, "client_type": "confidential", "redirect_uris": []any{"https://app.test/cb"}},
			check: wantToken("client_id", "client_secret")},
		{name: "oauth2 redirect uri", entity: "oauth2_credentials", in: map[string]any{"consumer": consumer, "name": "app", "redirect_uris": "not a url"}, code: sv,
			msg: "schema violation (redirect_uris.1: cannot parse 'not a url')"},
		{name: "oauth2 client type", entity: "oauth2_credentials", in: map[string]any{"consumer": consumer, "name": "app", "client_type": "secret"}, code: sv,
			msg: "schema violation (client_type: expected one of: confidential, public)"},
	})
}

func TestGeneratedTokensDiffer(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		rec, err := f.s.Insert(ctx, "keyauth_credentials", map[string]any{"consumer": map[string]any{"id": f.vars["$consumer"]}})
		if err != nil {
			t.Fatal(err)
		}
		k := rec["key"].(string)
		if seen[k] {
			t.Fatalf("generated key %s twice", k)
		}
		seen[k] = true
	}
}

func TestPlugins(t *testing.T) {
	const sv = store.CodeSchemaViolation
	emptyParts := map[string]any{"headers": []any{}, "querystring": []any{}}
	runEntityCases(t, []entityCase{
		{name: "unknown plugin", entity: "plugins", in: map[string]any{"name": "nope"}, code: sv,
			msg:    "schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)",
			fields: schema.Errors{"name": "plugin 'nope' not enabled; add it to the 'plugins' configuration property"}},
		{name: "name missing", entity: "plugins", in: map[string]any{}, code: sv,
			msg: "schema violation (name: required field missing)"},
		{name: "defaults", entity: "plugins", in: map[string]any{"name": "test-transformer"},
			want: map[string]any{
				"name": "test-transformer", "instance_name": nil, "enabled": true, "tags": nil, "ordering": nil,
				"route": nil, "service": nil, "consumer": nil, "protocols": []any{"grpc", "grpcs", "http", "https"},
				"config": map[string]any{"http_method": nil, "minute": nil, "add": emptyParts, "replace": emptyParts},
			}},
		{name: "config from form", entity: "plugins", in: map[string]any{"name": "test-transformer", "enabled": "false",
			"config": map[string]any{"add": map[string]any{"headers": "x-a:1"}, "minute": "5", "http_method": "POST"}},
			want: map[string]any{"enabled": false, "config": map[string]any{
				"http_method": "POST", "minute": int64(5),
				"add":     map[string]any{"headers": []any{"x-a:1"}, "querystring": []any{}},
				"replace": emptyParts,
			}}},
		{name: "config constraint", entity: "plugins", in: map[string]any{"name": "test-transformer", "config": map[string]any{"minute": "0"}}, code: sv,
			msg: "schema violation (config.minute: value must be greater than 0)", fields: schema.Errors{"config": schema.Errors{"minute": "value must be greater than 0"}}},
		{name: "config type", entity: "plugins", in: map[string]any{"name": "test-transformer", "config": map[string]any{"minute": "soon"}}, code: sv,
			msg: "schema violation (config.minute: expected an integer)"},
		{name: "config unknown field", entity: "plugins", in: map[string]any{"name": "test-transformer", "config": map[string]any{"bogus": "1"}}, code: sv,
			msg: "schema violation (config.bogus: unknown field)"},
		{name: "instance name", entity: "plugins", in: map[string]any{"name": "test-transformer", "instance_name": "my-plugin"},
			want: map[string]any{"instance_name": "my-plugin"}},
		{name: "unknown protocol", entity: "plugins", in: map[string]any{"name": "test-transformer", "protocols": "ftp"}, code: sv,
			prefix: "schema violation (protocols.1: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"},
		{name: "service scope", entity: "plugins", in: map[string]any{"name": "test-transformer", "service": map[string]any{"id": "$service"}},
			want: map[string]any{"service": map[string]any{"id": "$service"}, "route": nil, "consumer": nil}},
		{name: "service scope by name", entity: "plugins", in: map[string]any{"name": "test-transformer", "service": map[string]any{"name": "svc"}},
			want: map[string]any{"service": map[string]any{"id": "$service"}}},
		{name: "service missing", entity: "plugins", in: map[string]any{"name": "test-transformer", "service": map[string]any{"id": missingID}},
			code: store.CodeForeignKeyViolation,
			msg:  `the foreign key '{id="` + missingID + `"}' does not reference an existing 'services' entity.`},
		{name: "duplicate at service scope", entity: "plugins",
			pre:  []pre{{"plugins", map[string]any{"name": "test-transformer", "service": map[string]any{"id": "$service"}}}},
			in:   map[string]any{"name": "test-transformer", "service": map[string]any{"id": "$service"}},
			code: store.CodeUniqueViolation,
			msg:  `UNIQUE violation detected on '{consumer=null,name="test-transformer",route=null,service={id="$service"}}'`},
		{name: "duplicate global", entity: "plugins",
			pre:  []pre{{"plugins", map[string]any{"name": "test-transformer"}}},
			in:   map[string]any{"name": "test-transformer"},
			code: store.CodeUniqueViolation,
			msg:  `UNIQUE violation detected on '{consumer=null,name="test-transformer",route=null,service=null}'`},
		{name: "duplicate at consumer scope", entity: "plugins",
			pre:  []pre{{"plugins", map[string]any{"name": "test-transformer", "consumer": map[string]any{"id": "$consumer"}}}},
			in:   map[string]any{"name": "test-transformer", "consumer": map[string]any{"id": "$consumer"}},
			code: store.CodeUniqueViolation,
			msg:  `UNIQUE violation detected on '{consumer={id="$consumer"},name="test-transformer",route=null,service=null}'`},
		{name: "same plugin other scope", entity: "plugins",
			pre: []pre{
				{"plugins", map[string]any{"name": "test-transformer"}},
				{"plugins", map[string]any{"name": "test-transformer", "consumer": map[string]any{"id": "$consumer"}}},
			},
			in:   map[string]any{"name": "test-transformer", "service": map[string]any{"id": "$service"}, "consumer": map[string]any{"id": "$consumer"}},
			want: map[string]any{"service": map[string]any{"id": "$service"}, "consumer": map[string]any{"id": "$consumer"}}},
	})
}

func TestDBLess(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, store.Options{ReadOnly: true})
	if !s.ReadOnly() {
		t.Fatal("ReadOnly() = false")
	}
	cases := []struct {
		name string
		op   func() error
		msg  string
		code store.Code // 0: operation unsupported
	}{
		{"insert", func() error {
			_, err := s.Insert(ctx, "services", map[string]any{"host": "a.test"})
			return err
		}, "cannot create 'services' entities when not using a database", 0},
		{"invalid insert", func() error {
			// Kong validates the entity before refusing the write.
			_, err := s.Insert(ctx, "services", map[string]any{})
			return err
		}, "schema violation (host: required field missing)", store.CodeSchemaViolation},
		{"insert route", func() error {
			_, err := s.Insert(ctx, "routes", map[string]any{"paths": "/"})
			return err
		}, "cannot create 'routes' entities when not using a database", 0},
		{"update", func() error {
			_, err := s.Update(ctx, "services", "svc", map[string]any{"host": "a.test"})
			return err
		}, "cannot update 'services' entities when not using a database", 0},
		{"upsert", func() error {
			_, err := s.Upsert(ctx, "consumers", "bob", map[string]any{})
			return err
		}, "cannot create or update 'consumers' entities when not using a database", 0},
		{"delete", func() error {
			_, err := s.Delete(ctx, "services", "svc")
			return err
		}, "cannot remove 'services' entities when not using a database", 0},
		{"delete credential", func() error {
			_, err := s.Delete(ctx, "keyauth_credentials", missingID)
			return err
		}, "cannot remove 'keyauth_credentials' entities when not using a database", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := store.AsError(c.op())
			if !ok {
				t.Fatal("no store error")
			}
			if c.code == store.CodeSchemaViolation {
				if e.Code != c.code || e.Message != c.msg {
					t.Errorf("code = %d, message = %q; want %d, %q", e.Code, e.Message, c.code, c.msg)
				}
				if want := (schema.Errors{"host": "required field missing"}); !reflect.DeepEqual(e.Fields, want) {
					t.Errorf("fields = %v, want %v", e.Fields, want)
				}
				return
			}
			if e.Code != store.CodeOperationUnsupported || e.Code.Name() != "operation unsupported" {
				t.Errorf("code = %d %q", e.Code, e.Code.Name())
			}
			if e.Message != c.msg {
				t.Errorf("message = %q, want %q", e.Message, c.msg)
			}
			if e.Fields != nil {
				t.Errorf("fields = %v, want none", e.Fields)
			}
		})
	}
	// A nested create validates under its parent before the refusal, and
	// an unknown parent is not found, as the Admin API answers when it
	// reads the parent first.
	if err := s.Import(ctx, map[string][]map[string]any{"consumers": {{"username": "bob"}}}, store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	under := func(key string, in map[string]any) error {
		_, err := s.InsertUnder(ctx, "keyauth_credentials", store.Parent{Entity: "consumers", Key: key, Field: "consumer"}, in)
		return err
	}
	if err := under("carol", map[string]any{"key": "k"}); !store.IsNotFound(err) {
		t.Errorf("a key under an unknown consumer: %v", err)
	}
	if e, ok := store.AsError(under("bob", map[string]any{"key": "k"})); !ok || e.Code != store.CodeOperationUnsupported ||
		e.Message != "cannot create 'keyauth_credentials' entities when not using a database" {
		t.Errorf("a key under bob: %v", e)
	}
	if e, ok := store.AsError(under("bob", map[string]any{"key": 5})); !ok || e.Code != store.CodeSchemaViolation {
		t.Errorf("a bad key under bob: %v", e)
	}
	// Reads still work.
	if _, err := s.Get(ctx, "services", "svc"); !store.IsNotFound(err) {
		t.Errorf("get in DB-less mode: %v", err)
	}
	page, err := s.List(ctx, "services", store.ListQuery{})
	if err != nil || len(page.Data) != 0 || page.Offset != "" {
		t.Errorf("list in DB-less mode: %+v %v", page, err)
	}
}

func TestUpdates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := f.s

	svc, err := s.Update(ctx, "services", "svc", map[string]any{"port": "8080", "tags": "t"})
	if err != nil {
		t.Fatal(err)
	}
	if svc["port"] != int64(8080) || svc["host"] != "svc.test" || !reflect.DeepEqual(svc["tags"], []any{"t"}) {
		t.Errorf("patched service = %v", svc)
	}
	svc, err = s.Update(ctx, "services", "svc", map[string]any{"url": "https://other.test/p"})
	if err != nil {
		t.Fatal(err)
	}
	if svc["protocol"] != "https" || svc["host"] != "other.test" || svc["port"] != int64(443) || svc["path"] != "/p" {
		t.Errorf("patched service url = %v", svc)
	}
	_, err = s.Update(ctx, "services", "svc", map[string]any{"port": "70000"})
	if e, ok := store.AsError(err); !ok || e.Message != "schema violation (port: value should be between 0 and 65535)" {
		t.Errorf("patch invalid port: %v", err)
	}

	c := map[string]any{"id": f.vars["$consumer"]}
	cred, err := s.Insert(ctx, "basicauth_credentials", map[string]any{"consumer": c, "username": "bob", "password": "one"})
	if err != nil {
		t.Fatal(err)
	}
	renamed, err := s.Update(ctx, "basicauth_credentials", "bob", map[string]any{"username": "robert"})
	if err != nil {
		t.Fatal(err)
	}
	if renamed["password"] != cred["password"] {
		t.Errorf("PATCH without password re-hashed it: %v -> %v", cred["password"], renamed["password"])
	}
	repw, err := s.Update(ctx, "basicauth_credentials", "robert", map[string]any{"password": "two"})
	if err != nil {
		t.Fatal(err)
	}
	if want := basicauth.HashPassword("two", f.vars["$consumer"]); repw["password"] != want {
		t.Errorf("PATCH password stored %v, want %v", repw["password"], want)
	}

	p, err := s.Insert(ctx, "plugins", map[string]any{"name": "test-transformer"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(ctx, "plugins", p["id"].(string), map[string]any{"name": "other"})
	if e, ok := store.AsError(err); !ok || e.Code != store.CodeSchemaViolation ||
		e.Message != "schema violation (name: plugin 'other' not enabled; add it to the 'plugins' configuration property)" {
		t.Errorf("patch plugin name to unknown: %v", err)
	}

	_, err = s.Update(ctx, "consumers", "nobody", map[string]any{"custom_id": "x"})
	if !store.IsNotFound(err) {
		t.Errorf("patch missing consumer: %v", err)
	}
	put, err := s.Upsert(ctx, "consumers", "carol", map[string]any{})
	if err != nil || put["username"] != "carol" {
		t.Errorf("PUT by endpoint key: %v %v", put, err)
	}
}

func TestDeleteRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	if _, err := s.Insert(ctx, "routes", map[string]any{"paths": "/", "service": map[string]any{"id": f.vars["$service"]}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Delete(ctx, "services", "svc")
	e, ok := store.AsError(err)
	if !ok || e.Code != store.CodeForeignKeyViolation || e.Message != "an existing 'routes' entity references this 'services' entity" ||
		!reflect.DeepEqual(e.Fields, schema.Errors{"@referenced_by": "routes"}) {
		t.Errorf("delete referenced service: %#v", err)
	}
	if _, err := s.Insert(ctx, "services", map[string]any{"url": "https://a.test", "name": "tls", "client_certificate": map[string]any{"id": f.vars["$certificate"]}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Delete(ctx, "certificates", f.vars["$certificate"])
	if e, ok := store.AsError(err); !ok || e.Message != "an existing 'services' entity references this 'certificates' entity" {
		t.Errorf("delete referenced certificate: %v", err)
	}
	if _, err := s.Insert(ctx, "targets", map[string]any{"target": "10.0.0.1", "upstream": map[string]any{"id": f.vars["$upstream"]}}); err != nil {
		t.Fatal(err)
	}
	if found, err := s.Delete(ctx, "upstreams", "up.test"); err != nil || !found {
		t.Fatalf("delete upstream: %v %v", found, err)
	}
	if n, _ := s.Count(ctx, "targets"); n != 0 {
		t.Errorf("%d targets left after upstream delete", n)
	}
}

func TestEntityDeclarations(t *testing.T) {
	type foreign struct{ field, ref, onDelete string }
	cases := []struct {
		name, path, nested, endpointKey string
		cacheKey                        []string
		uniques                         []string
		foreigns                        []foreign
	}{
		{"certificates", "certificates", "certificates", "", nil, nil, nil},
		{"ca_certificates", "ca_certificates", "ca_certificates", "", nil, []string{"cert_digest"}, nil},
		{"snis", "snis", "snis", "name", nil, []string{"name"}, []foreign{{"certificate", "certificates", "cascade"}}},
		{"services", "services", "services", "name", nil, []string{"name"}, []foreign{{"client_certificate", "certificates", ""}}},
		{"routes", "routes", "routes", "name", nil, []string{"name"}, []foreign{{"service", "services", ""}}},
		{"consumers", "consumers", "consumers", "username", nil, []string{"username", "custom_id"}, nil},
		{"upstreams", "upstreams", "upstreams", "name", nil, []string{"name"}, []foreign{{"client_certificate", "certificates", ""}}},
		{"targets", "targets", "targets", "target", []string{"upstream", "target"}, nil, []foreign{{"upstream", "upstreams", "cascade"}}},
		{"plugins", "plugins", "plugins", "instance_name", []string{"name", "route", "service", "consumer"}, []string{"instance_name"},
			[]foreign{{"route", "routes", "cascade"}, {"service", "services", "cascade"}, {"consumer", "consumers", "cascade"}}},
		{"keyauth_credentials", "key-auths", "key-auth", "key", nil, []string{"key"}, []foreign{{"consumer", "consumers", "cascade"}}},
		{"basicauth_credentials", "basic-auths", "basic-auth", "username", nil, []string{"username"}, []foreign{{"consumer", "consumers", "cascade"}}},
		{"jwt_secrets", "jwts", "jwt", "key", nil, []string{"key"}, []foreign{{"consumer", "consumers", "cascade"}}},
		{"acls", "acls", "acls", "", []string{"consumer", "group"}, nil, []foreign{{"consumer", "consumers", "cascade"}}},
		{"hmacauth_credentials", "hmac-auths", "hmac-auth", "username", nil, []string{"username"}, []foreign{{"consumer", "consumers", "cascade"}}},
		{"oauth2_credentials", "oauth2", "oauth2", "client_id", nil, []string{"client_id"}, []foreign{{"consumer", "consumers", "cascade"}}},
		{"key_sets", "key-sets", "key-sets", "name", nil, []string{"name"}, nil},
		{"keys", "keys", "keys", "name", []string{"kid", "set"}, []string{"name"}, []foreign{{"set", "key_sets", "cascade"}}},
		{"filter_chains", "filter-chains", "filter-chains", "name", []string{"route", "service"}, []string{"name"},
			[]foreign{{"route", "routes", "cascade"}, {"service", "services", "cascade"}}},
		{"policies", "policies", "policies", "name", nil, []string{"name"}, nil},
		{"denied_ips", "denied-ips", "denied-ips", "", nil, []string{"ip"}, nil},
		{"rbac_roles", "rbac/roles", "rbac/roles", "name", nil, []string{"name"}, nil},
		{"rbac_role_endpoints", "rbac/role_endpoints", "endpoints", "", []string{"role", "workspace", "endpoint"}, nil,
			[]foreign{{"role", "rbac_roles", "cascade"}}},
		{"rbac_users", "rbac/users", "rbac/users", "name", nil, []string{"name", "user_token"}, nil},
		{"admins", "admins/admins", "admins/admins", "username", nil, []string{"username", "username_lower", "custom_id", "email"},
			[]foreign{{"rbac_user", "rbac_users", "cascade"}}},
		{"admin_credentials", "admins/credentials", "admins/credentials", "", nil, nil, []foreign{{"admin", "admins", "cascade"}}},
		{"reset_secrets", "admins/reset_secrets", "admins/reset_secrets", "subject", nil, []string{"subject"}, nil},
		{"sessions", "sessions/sessions", "sessions/sessions", "session_id", nil, []string{"session_id"}, nil},
		{"login_attempts", "admins/login_attempts", "admins/login_attempts", "subject", nil, []string{"subject"}, nil},
		{"teams", "teams/teams", "teams/teams", "name", nil, []string{"name"}, nil},
		{"team_members", "teams/members", "teams/members", "", []string{"team", "user"}, nil,
			[]foreign{{"team", "teams", "cascade"}, {"user", "rbac_users", "cascade"}}},
		{"team_assets", "teams/assets", "teams/assets", "", []string{"team", "entity_type", "entity_id"}, nil, []foreign{{"team", "teams", "cascade"}}},
		{"team_rules", "teams/rules", "teams/rules", "", nil, nil, []foreign{{"team", "teams", "cascade"}}},
		{"workspaces", "workspaces/workspaces", "workspaces/workspaces", "name", nil, []string{"name"}, nil},
		{"files", "files/files", "files/files", "path", nil, []string{"path"}, nil},
		{"developers", "developers/developers", "developers/developers", "email", nil, []string{"email", "custom_id"}, nil},
		{"developer_roles", "developers/roles", "developers/roles", "name", nil, []string{"name"}, nil},
		{"document_objects", "document_objects", "document_objects", "", nil, nil, []foreign{{"service", "services", "cascade"}}},
		{"applications", "applications", "applications", "", []string{"developer", "name"}, []string{"custom_id"},
			[]foreign{{"consumer", "consumers", "cascade"}, {"developer", "developers", "cascade"}}},
		{"application_instances", "application_instances", "application_instances", "composite_id", nil, []string{"composite_id"},
			[]foreign{{"application", "applications", "cascade"}, {"service", "services", "cascade"}}},
	}
	reg, err := store.NewRegistry(store.MergeEntities(store.KongEntities(), storetest.TestPlugins{}.Entities())...)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.All()) != len(cases) {
		t.Errorf("%d entities declared, %d tested", len(reg.All()), len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := reg.Entity(c.name)
			if !ok {
				t.Fatal("not declared")
			}
			if e.Path != c.path || e.NestedSegment() != c.nested || e.EndpointKey != c.endpointKey {
				t.Errorf("path %q nested %q endpoint key %q", e.Path, e.NestedSegment(), e.EndpointKey)
			}
			if byPath, ok := reg.ByPath(c.path); !ok || byPath.Name != c.name {
				t.Errorf("ByPath(%q) = %v", c.path, byPath)
			}
			if !reflect.DeepEqual(e.CacheKey, c.cacheKey) {
				t.Errorf("cache key %v", e.CacheKey)
			}
			if !reflect.DeepEqual(e.Uniques(), c.uniques) {
				t.Errorf("uniques %v", e.Uniques())
			}
			var got []foreign
			for _, f := range e.Foreigns() {
				got = append(got, foreign{f.Name, f.Reference, f.OnDelete})
			}
			if !reflect.DeepEqual(got, c.foreigns) {
				t.Errorf("foreigns %v", got)
			}
			for _, f := range []string{"id", "created_at"} {
				if !e.HasField(f) {
					t.Errorf("no %s field", f)
				}
			}
			if id := e.Schema.Field("id"); !id.UUID || !id.Auto {
				t.Errorf("id field %+v", id)
			}
		})
	}
	if names := reg.Names(); !sort.StringsAreSorted(names) || len(names) != len(cases) {
		t.Errorf("Names() = %v", names)
	}
	var refs []string
	for _, r := range reg.Referencing("consumers") {
		refs = append(refs, r.Entity.Name+"."+r.Field.Name)
	}
	want := []string{"plugins.consumer", "applications.consumer", "keyauth_credentials.consumer", "basicauth_credentials.consumer",
		"jwt_secrets.consumer", "acls.consumer", "hmacauth_credentials.consumer", "oauth2_credentials.consumer"}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("Referencing(consumers) = %v", refs)
	}
	if _, err := store.NewRegistry(store.Services(), store.Services()); err == nil {
		t.Error("duplicate declaration accepted")
	}
	if _, err := store.NewRegistry(store.Routes(), store.Services()); err == nil {
		t.Error("reference to a later entity accepted")
	}
}
