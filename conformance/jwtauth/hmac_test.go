package jwtauth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSchemasRenderAsKong: /schemas/plugins/{jwt,hmac-auth} equal Kong
// 3.9's rendering of kong/plugins/{jwt,hmac-auth}/schema.lua (testdata).
func TestSchemasRenderAsKong(t *testing.T) {
	e := start(t)
	for _, p := range []string{"jwt", "hmac-auth"} {
		res, err := http.Get(e.admin + "/schemas/plugins/" + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want, err := os.ReadFile("testdata/" + p + ".schema.json")
		if err != nil {
			t.Fatal(err)
		}
		var got, exp any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &exp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s schema:\n%s\nwant:\n%s", p, b, want)
		}
	}
}

func hmacSig(newHash func() hash.Hash, secret, text string) string {
	m := hmac.New(newHash, []byte(secret))
	m.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func hmacAuthz(user, alg, headers, sig string) string {
	return `hmac username="` + user + `", algorithm="` + alg + `", headers="` + headers + `", signature="` + sig + `"`
}

// TestHMACAuth covers hmac-auth over the proxy: each configuration field,
// Kong's 401 bodies and challenge, the upstream identity headers and the
// anonymous consumer.
func TestHMACAuth(t *testing.T) {
	e := start(t)
	e.form("POST", "/consumers", 201, "username=alice")
	e.form("POST", "/consumers", 201, "username=guest")
	cred := e.form("POST", "/consumers/alice/hmac-auth", 201, "username=alice-hmac", "secret=s3cret")
	if cred["secret"] != "s3cret" {
		t.Fatalf("credential %v", cred)
	}
	gen := e.form("POST", "/consumers/alice/hmac-auth", 201, "username=alice-gen")
	if s, _ := gen["secret"].(string); len(s) != 32 {
		t.Fatalf("generated secret %v", gen)
	}
	route := func(name string, cfg ...string) {
		e.form("POST", "/services/crud-persons/routes", 201, "name="+name, "paths=/"+name)
		e.form("POST", "/routes/"+name+"/plugins", 201, append([]string{"name=hmac-auth"}, cfg...)...)
	}
	route("plain")
	route("strict", "config.enforce_headers=date", "config.enforce_headers=@request-target", "config.algorithms=hmac-sha512",
		"config.validate_request_body=true", "config.hide_credentials=true", "config.clock_skew=60", "config.realm=gh")
	route("anon", "config.anonymous=guest")

	date := time.Now().UTC().Format(http.TimeFormat)
	stale := time.Now().Add(-2 * time.Minute).UTC().Format(http.TimeFormat)
	plainSig := hmacAuthz("alice-hmac", "hmac-sha256", "date", hmacSig(sha256.New, "s3cret", "date: "+date))
	body := `{"name":"x"}`
	sum := sha256.Sum256([]byte(body))
	digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	strictSig := func(d, path string) string {
		return hmacAuthz("alice-hmac", "hmac-sha512", "date @request-target digest",
			hmacSig(sha512.New, "s3cret", "date: "+d+"\n@request-target: post "+path+"\ndigest: "+digest))
	}
	msg := func(m string) string { return `{"message":"` + m + `"}` }
	cases := []struct {
		name, method, path string
		headers            map[string]string
		body               string
		status             int
		want               string // 401 body
		challenge          string
		user               string
	}{
		{"valid", "GET", "/plain", map[string]string{"Date": date, "Authorization": plainSig}, "", 200, "", "", "alice"},
		{"proxy-authorization", "GET", "/plain", map[string]string{"Date": date, "Proxy-Authorization": plainSig}, "", 200, "", "", "alice"},
		{"no credentials", "GET", "/plain", nil, "", 401, msg("Unauthorized"), "hmac", ""},
		{"no date", "GET", "/plain", map[string]string{"Authorization": plainSig}, "", 401,
			msg("HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"), "hmac", ""},
		{"not hmac", "GET", "/plain", map[string]string{"Date": date, "Authorization": "Basic YTpi"}, "", 401, msg("HMAC signature cannot be verified"), "hmac", ""},
		{"unknown user", "GET", "/plain", map[string]string{"Date": date, "Authorization": strings.Replace(plainSig, "alice-hmac", "eve", 1)}, "", 401,
			msg("HMAC signature cannot be verified"), "hmac", ""},
		{"wrong signature", "GET", "/plain", map[string]string{"Date": date, "Authorization": hmacAuthz("alice-hmac", "hmac-sha256", "date", hmacSig(sha256.New, "x", "date: "+date))}, "", 401,
			msg("HMAC signature does not match"), "hmac", ""},
		{"strict valid", "POST", "/strict", map[string]string{"Date": date, "Digest": digest, "Authorization": strictSig(date, "/strict?a=1")}, body, 200, "", "", "alice"},
		{"strict stale date", "POST", "/strict", map[string]string{"Date": stale, "Digest": digest, "Authorization": strictSig(stale, "/strict?a=1")}, body, 401,
			msg("HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"), `hmac realm="gh"`, ""},
		{"strict algorithm refused", "GET", "/strict", map[string]string{"Date": date, "Authorization": plainSig}, "", 401, msg("HMAC signature cannot be verified"), `hmac realm="gh"`, ""},
		{"strict body changed", "POST", "/strict", map[string]string{"Date": date, "Digest": digest, "Authorization": strictSig(date, "/strict?a=1")}, `{"name":"y"}`, 401,
			msg("HMAC signature does not match"), `hmac realm="gh"`, ""},
		{"anonymous", "GET", "/anon", nil, "", 200, "", "", "guest"},
		{"anonymous, valid", "GET", "/anon", map[string]string{"Date": date, "Authorization": plainSig}, "", 200, "", "", "alice"},
	}
	for _, tc := range cases {
		path := tc.path
		if strings.HasPrefix(tc.name, "strict") {
			path += "?a=1"
		}
		code, b, hdr := e.call(tc.method, path, tc.headers, tc.body)
		if code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.status)
			continue
		}
		if code == 401 {
			if strings.TrimSpace(string(b)) != tc.want || hdr.Get("WWW-Authenticate") != tc.challenge {
				t.Errorf("%s: %s %q, want %s %q", tc.name, b, hdr.Get("WWW-Authenticate"), tc.want, tc.challenge)
			}
			continue
		}
		if got := upstreamHeader(t, b, "X-Consumer-Username"); got != tc.user {
			t.Errorf("%s: consumer %q, want %q", tc.name, got, tc.user)
		}
		if tc.user == "alice" {
			if got := upstreamHeader(t, b, "X-Credential-Identifier"); got != "alice-hmac" {
				t.Errorf("%s: credential %q", tc.name, got)
			}
			hidden := upstreamHeader(t, b, "Authorization") == ""
			if _, sent := tc.headers["Authorization"]; sent && hidden != strings.HasPrefix(tc.name, "strict") {
				t.Errorf("%s: Authorization upstream hidden=%v", tc.name, hidden)
			}
		}
	}
}

// TestHostileInput: malformed tokens and signature headers get Kong's 401
// bodies over the wire, never a 500.
func TestHostileInput(t *testing.T) {
	e := start(t)
	e.form("POST", "/consumers", 201, "username=bob")
	e.form("POST", "/consumers/bob/jwt", 201, "key=bob")
	e.form("POST", "/consumers/bob/hmac-auth", 201, "username=bob")
	for _, p := range []string{"jwt", "hmac-auth"} {
		e.form("POST", "/services/crud-persons/routes", 201, "name="+p, "paths=/"+p)
		e.form("POST", "/routes/"+p+"/plugins", 201, "name="+p)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tokens := []string{".", "..", "...", "a.b", "a.b.c.d", "%00.%00.%00", b64(`{"alg":"HS256"}`) + "." + b64(`[1]`) + ".",
		b64(`"x"`) + "." + b64(`{}`) + ".", b64(`{"alg":"ES256"}`) + "." + b64(`{"iss":"bob"}`) + ".AAAA",
		b64(`{"alg":"HS256"}`) + "." + b64(`{"iss":{"a":1}}`) + ".", b64(`{"alg":"HS256"}`) + "." + b64(`{"iss":12}`) + ".",
		b64(`{"alg":"HS256"}`) + "." + b64(`{"iss":"bob"}`) + ".!!", strings.Repeat("A", 8000), b64(`{"alg":null}`) + ".e30.",
		b64(`{"alg":"HS256"}`) + "." + b64(`null`) + "."}
	for _, tok := range tokens {
		code, b, _ := e.call("GET", "/jwt", map[string]string{"Authorization": "Bearer " + tok}, "")
		if code != 401 || !strings.HasPrefix(string(b), `{"message":"`) {
			t.Errorf("jwt %.60q: %d %s", tok, code, b)
		}
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	for _, h := range []string{"hmac", `hmac username=""`, `hmac username="bob", algorithm="hmac-sha256", headers="", signature=""`,
		`hmac username="bob", algorithm="hmac-sha256", headers=" ", signature="x"`, `hmac username="bob", algorithm="hmac-sha1", headers="date", signature="%%%"`,
		`hmac username="b"ob", algorithm="hmac-sha256", headers="a""b", signature="=="`, strings.Repeat(`hmac username="a",`, 200)} {
		code, b, _ := e.call("GET", "/hmac-auth", map[string]string{"Authorization": h, "Date": date}, "")
		if code != 401 || !strings.HasPrefix(string(b), `{"message":"HMAC signature`) {
			t.Errorf("hmac %.60q: %d %s", h, code, b)
		}
	}
}
