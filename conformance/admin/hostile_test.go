package admin_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// hostileBackends runs a test against a node on each store backend.
func hostileBackends(t *testing.T, run func(t *testing.T, c *client)) {
	backends := map[string]func(t *testing.T) map[string]string{
		"sqlite":   func(t *testing.T) map[string]string { return nil },
		"postgres": pgSettings,
	}
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			node := startNode(t, settings(t))
			run(t, &client{t: t, base: "http://" + node.Addr("admin")})
		})
	}
}

// TestPatchBodyIDIgnored: Kong's PATCH updates the entity the URL names and
// never its primary key (the Postgres strategy leaves key columns out of
// UPDATE), so an "id" in the body is validated and otherwise ignored. Ours
// used to answer 200 with the body's id while storing nothing, and left
// index rows behind for an entity that did not exist, so the name it was
// given could never be used again (409 on a name no entity had).
func TestPatchBodyIDIgnored(t *testing.T) {
	hostileBackends(t, func(t *testing.T, c *client) {
		const other = "00000000-0000-4000-8000-0000000000dd"
		svc := c.form("POST", "/services", "host=ghost")
		expect(t, svc, http.StatusCreated, "create service")
		id := svc.str("id")
		route := c.json("POST", "/routes", map[string]any{"paths": []string{"/ghost"}, "service": map[string]any{"id": id}})
		expect(t, route, http.StatusCreated, "create route")

		cases := []struct {
			name, path string
			body       map[string]any
			check      func(r *response)
		}{
			{"top level", "/services/" + id, map[string]any{"id": other, "name": "ghostname", "host": "patched"}, func(r *response) {
				equal(t, "host", r.get("host"), "patched")
				equal(t, "name", r.get("name"), "ghostname")
			}},
			{"by name", "/services/ghostname", map[string]any{"id": other, "retries": 3}, func(r *response) {
				equal(t, "retries", r.get("retries"), 3.0)
			}},
			{"nested", "/services/" + id + "/routes/" + route.str("id"), map[string]any{"id": other, "name": "ghostroute"}, func(r *response) {
				equal(t, "route name", r.get("name"), "ghostroute")
			}},
		}
		for _, tc := range cases {
			r := c.json("PATCH", tc.path, tc.body)
			expect(t, r, http.StatusOK, tc.name)
			want := id
			if tc.name == "nested" {
				want = route.str("id")
			}
			equal(t, tc.name+": id", r.get("id"), want)
			tc.check(r)
		}
		// What the answers said is what is stored.
		got := c.get("/services/" + id)
		expect(t, got, http.StatusOK, "read back")
		equal(t, "stored host", got.get("host"), "patched")
		equal(t, "stored name", got.get("name"), "ghostname")
		equal(t, "stored retries", got.get("retries"), 3.0)
		expect(t, c.get("/services/"+other), http.StatusNotFound, "no entity under the body's id")
		expect(t, c.get("/routes/ghostroute"), http.StatusOK, "route renamed")
		// No stray index rows: the old name is free once renamed away.
		expect(t, c.json("PATCH", "/services/"+id, map[string]any{"name": "renamed"}), http.StatusOK, "rename")
		expect(t, c.form("POST", "/services", "host=x", "name=ghostname"), http.StatusCreated, "old name reusable")

		// The body's id is still validated, as Kong validates the merged entity.
		bad := c.json("PATCH", "/services/"+id, map[string]any{"id": "nope"})
		expect(t, bad, http.StatusBadRequest, "invalid id")
		equal(t, "invalid id code", bad.get("code"), 2.0)
	})
}

// TestJSONStringsKeptAsSent: a JSON body's strings reach the schema as sent.
// encoding/json would turn invalid UTF-8 and unpaired \u surrogate escapes
// into U+FFFD and the entity would be stored with other text than was sent.
// Invalid UTF-8 is refused by the schema as in form bodies; an unpaired
// surrogate is a JSON error, as lua-cjson refuses it.
func TestJSONStringsKeptAsSent(t *testing.T) {
	hostileBackends(t, func(t *testing.T, c *client) {
		cases := []struct {
			name    string
			body    string
			status  int
			message string // exact message, for errors
			check   func(r *response)
		}{
			{"raw invalid byte in a name", "{\"host\":\"x\",\"name\":\"a\xffb\"}", 400,
				"schema violation (name: invalid utf-8 character sequence detected at position 2)", nil},
			{"raw invalid byte in a tag", "{\"host\":\"x\",\"tags\":[\"ok\",\"t\xc3\"]}", 400,
				"schema violation (tags.2: invalid utf-8 character sequence detected at position 2)", nil},
			{"raw invalid byte in a key", "{\"host\":\"x\",\"n\xe9\":1}", 400, "", func(r *response) {
				if r.str("name") != "schema violation" {
					t.Errorf("unknown field with an invalid byte: %s", r.raw)
				}
			}},
			{"lone high surrogate", `{"host":"x","name":"\ud800"}`, 400, "Cannot parse JSON body", nil},
			{"lone low surrogate", `{"host":"x","tags":["\udc00x"]}`, 400, "Cannot parse JSON body", nil},
			{"high surrogate then no low", `{"host":"x","name":"\ud800\u0041"}`, 400, "Cannot parse JSON body", nil},
			{"surrogate in a key", `{"host":"x","\udfff":1}`, 400, "Cannot parse JSON body", nil},
			{"surrogate pair", `{"host":"x","name":"smile-\ud83d\ude00"}`, 201, "", func(r *response) {
				equal(t, "name", r.get("name"), "smile-\U0001F600")
			}},
			{"escaped backslash before u", `{"host":"x","tags":["\\ud800"]}`, 201, "", func(r *response) {
				equal(t, "tags", r.get("tags"), []any{`\ud800`})
			}},
			{"valid multibyte", "{\"host\":\"x\",\"name\":\"caf\xc3\xa9\"}", 201, "", func(r *response) {
				equal(t, "name", r.get("name"), "café")
			}},
		}
		for _, tc := range cases {
			r := c.do("POST", "/services", "application/json", []byte(tc.body))
			expect(t, r, tc.status, tc.name)
			if tc.message != "" {
				equal(t, tc.name+": message", r.get("message"), tc.message)
			}
			if tc.check != nil {
				tc.check(r)
			}
		}
		// Nothing was stored with a replacement character.
		all := c.get("/services?size=1000")
		expect(t, all, http.StatusOK, "list")
		if strings.ContainsRune(string(all.raw), '\uFFFD') || strings.Contains(string(all.raw), `\ufffd`) {
			t.Errorf("a stored service holds U+FFFD: %s", all.raw)
		}
	})
}

// TestCACertificateInUse: Kong refuses to delete a CA certificate a service
// still lists in ca_certificates (400, code 19 "referenced by others"; its
// ca_certificates DAO checks before deleting). Ours deleted it (204) and
// left the service pointing at nothing.
func TestCACertificateInUse(t *testing.T) {
	hostileBackends(t, func(t *testing.T, c *client) {
		cert, _ := selfSigned(t, "ca.hostile.test")
		ca := c.json("POST", "/ca_certificates", map[string]any{"cert": cert})
		expect(t, ca, http.StatusCreated, "create CA")
		caID := ca.str("id")
		// Services before and after the referencing one, so it is found
		// among others.
		for _, n := range []string{"a-first", "z-last"} {
			expect(t, c.json("POST", "/services", map[string]any{"name": n, "url": "https://x.test"}), http.StatusCreated, n)
		}
		svc := c.json("POST", "/services", map[string]any{"name": "tls", "url": "https://x.test", "ca_certificates": []string{caID}})
		expect(t, svc, http.StatusCreated, "create service")

		del := c.do("DELETE", "/ca_certificates/"+caID, "", nil)
		expect(t, del, http.StatusBadRequest, "delete referenced CA")
		equal(t, "code", del.get("code"), 19.0)
		equal(t, "name", del.get("name"), "referenced by others")
		equal(t, "message", del.get("message"), "ca certificate "+caID+" is still referenced by services (id = "+svc.str("id")+")")
		expect(t, c.get("/ca_certificates/"+caID), http.StatusOK, "CA kept")

		// Once no service lists it, it goes.
		expect(t, c.json("PATCH", "/services/tls", map[string]any{"ca_certificates": nil}), http.StatusOK, "unlist CA")
		expect(t, c.do("DELETE", "/ca_certificates/"+caID, "", nil), http.StatusNoContent, "delete unreferenced CA")
		expect(t, c.get("/ca_certificates/"+caID), http.StatusNotFound, "CA gone")
	})
}

// TestNestedPutByKeyTwice: PUT on a nested path named by its endpoint key
// (a credential's username or key, an acl's group, a target, a route's or
// plugin instance's name) is Kong's upsert_by_<key>: the key from the URL is
// written every time. Ours wrote it only when the entity was new, so the
// second identical PUT failed (username, group, target: required field
// missing) or silently cleared the name (routes, plugin instance_name) or
// replaced a key-auth key with a generated one.
func TestNestedPutByKeyTwice(t *testing.T) {
	hostileBackends(t, func(t *testing.T, c *client) {
		expect(t, c.form("POST", "/consumers", "username=c"), http.StatusCreated, "consumer")
		expect(t, c.form("POST", "/services", "name=s", "host=x"), http.StatusCreated, "service")
		expect(t, c.form("POST", "/upstreams", "name=u"), http.StatusCreated, "upstream")
		cases := []struct {
			path, field, value string
			first, second      []string
		}{
			{"/consumers/c/basic-auth/alice", "username", "alice", []string{"password=one"}, []string{"password=two", "tags=second"}},
			{"/consumers/c/key-auth/the-key", "key", "the-key", nil, []string{"tags=second"}},
			{"/consumers/c/acls/admins", "group", "admins", nil, []string{"tags=second"}},
			{"/upstreams/u/targets/10.0.0.1:8080", "target", "10.0.0.1:8080", []string{"weight=5"}, []string{"weight=7", "tags=second"}},
			{"/services/s/routes/r", "name", "r", []string{"paths=/r"}, []string{"paths=/r", "tags=second"}},
			{"/services/s/plugins/inst", "instance_name", "inst", []string{"name=basic-auth"}, []string{"name=basic-auth", "tags=second"}},
			{"/consumers/c2", "username", "c2", nil, []string{"tags=second"}},
		}
		for _, tc := range cases {
			one := c.form("PUT", tc.path, tc.first...)
			expect(t, one, http.StatusOK, "first PUT "+tc.path)
			equal(t, tc.path+" first "+tc.field, one.get(tc.field), tc.value)
			two := c.form("PUT", tc.path, tc.second...)
			expect(t, two, http.StatusOK, "second PUT "+tc.path)
			equal(t, tc.path+" id", two.get("id"), one.get("id"))
			equal(t, tc.path+" second "+tc.field, two.get(tc.field), tc.value)
			equal(t, tc.path+" tags", two.get("tags"), []any{"second"})
			got := c.get(tc.path)
			expect(t, got, http.StatusOK, "GET "+tc.path)
			equal(t, tc.path+" stored "+tc.field, got.get(tc.field), tc.value)
		}
		// The URL's key wins over one in the body, as in Kong.
		r := c.json("PUT", "/consumers/c/basic-auth/alice", map[string]any{"username": "mallory", "password": "x"})
		expect(t, r, http.StatusOK, "PUT with another username in the body")
		equal(t, "username from the URL", r.get("username"), "alice")
		expect(t, c.get("/basic-auths/mallory"), http.StatusNotFound, "no mallory")
	})
}

// TestEmptyListOptions: Kong refuses ?tags= with an empty value ("invalid
// option (tags: cannot be null)", code 11) and an empty ?size= ("size must
// be a number", code 9); ours listed everything, unfiltered.
func TestEmptyListOptions(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	expect(t, c.form("POST", "/consumers", "username=c", "tags=t"), http.StatusCreated, "consumer")
	cases := []struct {
		path    string
		status  int
		code    float64
		message string
	}{
		{"/consumers?tags=", 400, 11, "invalid option (tags: cannot be null)"},
		{"/consumers?tags", 400, 11, "invalid option (tags: cannot be null)"},
		{"/consumers/c/acls?tags=", 400, 11, "invalid option (tags: cannot be null)"},
		{"/consumers?size=", 400, 9, "size must be a number"},
		{"/consumers?size", 400, 9, "size must be a number"},
		{"/consumers?tags=t", 200, 0, ""},
		{"/consumers?size=1", 200, 0, ""},
	}
	for _, tc := range cases {
		r := c.get(tc.path)
		expect(t, r, tc.status, tc.path)
		if tc.code != 0 {
			equal(t, tc.path+" code", r.get("code"), tc.code)
			equal(t, tc.path+" message", r.get("message"), tc.message)
		}
	}
	r := c.get("/consumers?tags=")
	equal(t, "options", r.get("options"), map[string]any{"tags": "cannot be null"})
}

// TestCrossNodeDeleteRace: two nodes share a Postgres database; one creates
// a route for a service while the other deletes that service. Exactly one
// may win: either the route exists and so does its service, or the delete
// went through and the route was refused. Each node serialises only its own
// writes, so both used to commit, leaving routes that named a deleted
// service.
func TestCrossNodeDeleteRace(t *testing.T) {
	settings := pgSettings(t)
	a := &client{t: t, base: "http://" + startNode(t, settings).Addr("admin")}
	b := &client{t: t, base: "http://" + startNode(t, settings).Addr("admin")}
	for i := 0; i < 30; i++ {
		svc := a.form("POST", "/services", "host=race.test")
		expect(t, svc, http.StatusCreated, "service")
		id := svc.str("id")
		var route, del *response
		done := make(chan struct{})
		go func() {
			defer close(done)
			route = a.json("POST", "/routes", map[string]any{"paths": []string{"/race"}, "service": map[string]any{"id": id}})
		}()
		del = b.do("DELETE", "/services/"+id, "", nil)
		<-done
		routeMade := route.status == http.StatusCreated
		serviceGone := a.get("/services/"+id).status == http.StatusNotFound
		if routeMade && serviceGone {
			t.Fatalf("round %d: route %s was created for service %s, which was deleted (delete answered %d)", i, route.str("id"), id, del.status)
		}
		if routeMade {
			expect(t, a.do("DELETE", "/routes/"+route.str("id"), "", nil), http.StatusNoContent, "clean route")
		}
	}
}

// TestPutByKeyWithoutEndpointKey: an entity with no endpoint key (CA
// certificates, acls at the top level) is named by its id only; Kong's
// upsert refuses another key as an invalid primary key (400, code 1).
// Ours created a new entity under a random id on every such PUT.
func TestPutByKeyWithoutEndpointKey(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	cert, _ := selfSigned(t, "ca.put.test")
	expect(t, c.form("POST", "/consumers", "username=c"), http.StatusCreated, "consumer")
	cases := []struct {
		path string
		body map[string]any
	}{
		{"/ca_certificates/my-ca", map[string]any{"cert": cert}},
		{"/acls/admins", map[string]any{"group": "admins", "consumer": map[string]any{"username": "c"}}},
	}
	for _, tc := range cases {
		for round := 0; round < 2; round++ {
			r := c.json("PUT", tc.path, tc.body)
			expect(t, r, http.StatusBadRequest, tc.path)
			equal(t, tc.path+" code", r.get("code"), 1.0)
			equal(t, tc.path+" name", r.get("name"), "invalid primary key")
			equal(t, tc.path+" message", r.get("message"), `invalid primary key: '{id="expected a valid UUID"}'`)
			equal(t, tc.path+" fields", r.get("fields"), map[string]any{"id": "expected a valid UUID"})
		}
	}
	for _, list := range []string{"/ca_certificates", "/acls"} {
		r := c.get(list)
		expect(t, r, http.StatusOK, list)
		equal(t, list+" is empty", r.get("data"), []any{})
	}
	// By id, PUT creates and then replaces the one entity.
	const id = "00000000-0000-4000-8000-00000000ca01"
	expect(t, c.json("PUT", "/ca_certificates/"+id, map[string]any{"cert": cert}), http.StatusOK, "PUT by id")
	expect(t, c.json("PUT", "/ca_certificates/"+id, map[string]any{"cert": cert, "tags": []string{"x"}}), http.StatusOK, "PUT by id again")
	r := c.get("/ca_certificates")
	if n := len(r.get("data").([]any)); n != 1 {
		t.Errorf("%d CA certificates after two PUTs by id, want 1", n)
	}
}

// TestMultipleContentTypes: Kong's before_filter refuses a body request
// with more than one Content-Type header (400 "Multiple Content-Type
// headers not allowed"); ours decoded the body by one of them, which a
// proxy in front may have read by the other.
func TestMultipleContentTypes(t *testing.T) {
	node := startNode(t, nil)
	base := "http://" + node.Addr("admin")
	for _, types := range [][]string{
		{"application/json", "application/json"},
		{"application/x-www-form-urlencoded", "application/json"},
	} {
		req, err := http.NewRequest("POST", base+"/services", strings.NewReader(`{"name":"two-types","host":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header["Content-Type"] = types
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = decodeJSON(res.Body, &body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || body["message"] != "Multiple Content-Type headers not allowed" {
			t.Errorf("%q: status %d, body %v; want 400 Multiple Content-Type headers not allowed", types, res.StatusCode, body)
		}
	}
	c := &client{t: t, base: base}
	expect(t, c.get("/services/two-types"), http.StatusNotFound, "nothing created")
	// One Content-Type is fine, and GET ignores them as Kong does.
	expect(t, c.json("POST", "/services", map[string]any{"name": "one-type", "host": "x"}), http.StatusCreated, "one type")
	req, _ := http.NewRequest("GET", base+"/services", nil)
	req.Header["Content-Type"] = []string{"a/b", "c/d"}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET with two Content-Types: %d", res.StatusCode)
	}
}

// TestCertificateBySNIName: /certificates/{name} names the certificate
// serving that SNI (Kong's certificates route). DELETE by name used to
// answer 204 and delete nothing; PUT by the name of an existing SNI created
// a second certificate (refused, the SNI being taken) instead of replacing
// the one that serves it.
func TestCertificateBySNIName(t *testing.T) {
	hostileBackends(t, func(t *testing.T, c *client) {
		cert, key := selfSigned(t, "sni.put.test")
		first := c.json("POST", "/certificates", map[string]any{"cert": cert, "key": key, "snis": []string{"a.test"}})
		expect(t, first, http.StatusCreated, "certificate")
		id := first.str("id")

		// PUT by an existing SNI replaces that certificate; the name stays
		// among the SNIs when the body lists others.
		put := c.json("PUT", "/certificates/a.test", map[string]any{"cert": cert, "key": key, "snis": []string{"b.test"}, "tags": []string{"put"}})
		expect(t, put, http.StatusOK, "PUT by SNI")
		equal(t, "same certificate", put.get("id"), id)
		equal(t, "snis", put.get("snis"), []any{"a.test", "b.test"})
		equal(t, "tags", put.get("tags"), []any{"put"})
		r := c.get("/certificates")
		equal(t, "one certificate", len(r.get("data").([]any)), 1)

		// PUT by a new name creates a certificate serving it.
		made := c.form("PUT", "/certificates/c.test", "cert="+cert, "key="+key, "snis[1]=d.test")
		expect(t, made, http.StatusOK, "PUT by new SNI")
		equal(t, "new snis", made.get("snis"), []any{"c.test", "d.test"})
		if made.str("id") == id {
			t.Error("PUT by a new SNI reused the other certificate")
		}

		// DELETE by name deletes the certificate serving it, with its SNIs.
		expect(t, c.do("DELETE", "/certificates/c.test", "", nil), http.StatusNoContent, "DELETE by SNI")
		expect(t, c.get("/certificates/"+made.str("id")), http.StatusNotFound, "deleted")
		expect(t, c.get("/snis/d.test"), http.StatusNotFound, "its SNIs too")
		gone := c.do("DELETE", "/certificates/nope.test", "", nil)
		expect(t, gone, http.StatusNotFound, "DELETE by unknown SNI")
		equal(t, "message", gone.get("message"), "SNI not found")
		expect(t, c.get("/certificates/"+id), http.StatusOK, "the other stays")
	})
}

// TestTargetsAll: Kong serves GET /upstreams/{u}/targets/all, every target
// of the upstream with paging (next ends with /targets/all, without size),
// ignoring filters; other methods there are 405. Ours looked for a target
// named "all" (404).
func TestTargetsAll(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	expect(t, c.form("POST", "/upstreams", "name=u.test"), http.StatusCreated, "upstream")
	for i := 1; i <= 10; i++ {
		expect(t, c.form("POST", "/upstreams/u.test/targets", "target=api-"+strconv.Itoa(i)+":80"), http.StatusCreated, "target")
	}
	all := c.get("/upstreams/u.test/targets/all")
	expect(t, all, http.StatusOK, "targets/all")
	equal(t, "count", len(all.get("data").([]any)), 10)
	equal(t, "next", all.get("next"), nil)

	seen := map[string]bool{}
	path := "/upstreams/u.test/targets/all?size=3"
	for page := 1; path != ""; page++ {
		r := c.get(path)
		expect(t, r, http.StatusOK, path)
		for _, d := range r.get("data").([]any) {
			seen[d.(map[string]any)["id"].(string)] = true
		}
		path = ""
		if next, ok := r.get("next").(string); ok {
			off := r.str("offset")
			if want := "/upstreams/u.test/targets/all?offset=" + url.QueryEscape(off); next != want {
				t.Fatalf("page %d: next %q, want %q", page, next, want)
			}
			path = next + "&size=3"
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	equal(t, "paged targets", len(seen), 10)
	expect(t, c.get("/upstreams/u.test/targets/all?foo=bar"), http.StatusOK, "filters ignored")
	expect(t, c.get("/upstreams/nope/targets/all"), http.StatusNotFound, "unknown upstream")
	expect(t, c.form("PATCH", "/upstreams/u.test/targets/all", "weight=1"), http.StatusMethodNotAllowed, "PATCH targets/all")
}

// TestPreflightAndCORS: browser clients (Kong Manager, the IAM portal of the
// training) send CORS preflights and read CORS headers. Kong answers
// OPTIONS on every route with 204 and the route's methods (Allow and
// Access-Control-Allow-Methods), serves HEAD wherever it serves GET, and
// adds Access-Control-Allow-Origin (the request's Origin, else *) and
// -Credentials to every answer. Ours answered 404 or 405 and sent no CORS
// headers.
func TestPreflightAndCORS(t *testing.T) {
	node := startNode(t, nil)
	base := "http://" + node.Addr("admin")
	c := &client{t: t, base: base}
	expect(t, c.form("POST", "/services", "name=s", "host=x"), http.StatusCreated, "service")
	expect(t, c.form("POST", "/services/s/routes", "name=r", "paths=/r"), http.StatusCreated, "route")
	send := func(method, path string, header map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	const entity = "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
	const collection = "GET, HEAD, OPTIONS, POST"
	const readOnly = "GET, HEAD, OPTIONS"
	for _, tc := range []struct{ path, allow string }{
		{"/", readOnly},
		{"/status", readOnly},
		{"/routes", collection},
		{"/routes/test", entity},
		{"/routes/r", entity},
		{"/services/s/routes", collection},
		{"/services/s/routes/r", entity},
		{"/routes/r/service", entity},
		{"/plugins/enabled", readOnly},
		{"/tags", readOnly},
		{"/tags/x", readOnly},
		{"/schemas/services", readOnly},
		{"/schemas/plugins/basic-auth", readOnly},
		{"/schemas/services/validate", "OPTIONS, POST"},
		{"/config", "GET, HEAD, OPTIONS, POST"},
	} {
		res := send("OPTIONS", tc.path, nil)
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Allow") != tc.allow ||
			res.Header.Get("Access-Control-Allow-Methods") != tc.allow {
			t.Errorf("OPTIONS %s: %d, Allow %q, AC-Allow-Methods %q; want 204, %q", tc.path, res.StatusCode,
				res.Header.Get("Allow"), res.Header.Get("Access-Control-Allow-Methods"), tc.allow)
		}
		if got := res.Header.Get("Access-Control-Allow-Headers"); got != "Content-Type" {
			t.Errorf("OPTIONS %s: AC-Allow-Headers %q", tc.path, got)
		}
	}
	if res := send("OPTIONS", "/nothing/here", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("OPTIONS on no route: %d, want 404", res.StatusCode)
	}
	res := send("OPTIONS", "/", map[string]string{"Access-Control-Request-Headers": "X-Header-1,X-Header-2", "Origin": "http://example.com"})
	if got := res.Header.Get("Access-Control-Allow-Headers"); got != "X-Header-1,X-Header-2" {
		t.Errorf("AC-Allow-Headers %q", got)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "http://example.com" {
		t.Errorf("preflight AC-Allow-Origin %q", got)
	}
	// Every answer carries the origin, errors included.
	for _, path := range []string{"/", "/services", "/services/nope"} {
		res := send("GET", path, map[string]string{"Origin": "http://example.com", "Access-Control-Request-Method": "PATCH"})
		if res.Header.Get("Access-Control-Allow-Origin") != "http://example.com" || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("GET %s: AC-Allow-Origin %q, -Credentials %q", path, res.Header.Get("Access-Control-Allow-Origin"), res.Header.Get("Access-Control-Allow-Credentials"))
		}
		if res.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("GET %s answers AC-Allow-Methods", path)
		}
		if res := send("GET", path, nil); res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s without Origin: AC-Allow-Origin %q", path, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	// HEAD where GET is served.
	for path, want := range map[string]int{"/": 200, "/services": 200, "/services/s": 200, "/services/nope": 404, "/routes/r/service": 200} {
		if res := send("HEAD", path, nil); res.StatusCode != want {
			t.Errorf("HEAD %s: %d, want %d", path, res.StatusCode, want)
		}
	}
}

// TestPluginNameWrongType: a plugin name that is not a string is "expected
// a string", as Kong's schema says, not "required field missing".
func TestPluginNameWrongType(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	for _, body := range []map[string]any{{"name": 5}, {"name": []string{"key-auth"}}, {"name": map[string]any{}}, {"name": true}} {
		for _, path := range []string{"/plugins", "/schemas/plugins/validate"} {
			r := c.json("POST", path, body)
			expect(t, r, http.StatusBadRequest, path)
			equal(t, path+" message", r.get("message"), "schema violation (name: expected a string)")
		}
	}
	r := c.json("POST", "/plugins", map[string]any{"name": nil})
	equal(t, "null name", r.get("message"), "schema violation (name: required field missing)")
}

// TestMultipartUnparsableDisposition: a multipart part whose
// Content-Disposition does not parse (here a repeated name parameter) is a
// malformed body (400), not a part silently left out of the entity.
func TestMultipartUnparsableDisposition(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	body := "--XX\r\nContent-Disposition: form-data; name=\"host\"\r\n\r\nx\r\n" +
		"--XX\r\nContent-Disposition: form-data; name=\"name\"; name=\"evil\"\r\n\r\nmp\r\n--XX--\r\n"
	r := c.do("POST", "/services", "multipart/form-data; boundary=XX", []byte(body))
	expect(t, r, http.StatusBadRequest, "repeated name parameter")
	equal(t, "message", r.get("message"), "malformed multipart/form-data body")
	// Unnamed parts are still ignored, as in Kong.
	body = "--XX\r\nContent-Disposition: form-data; name=\"host\"\r\n\r\nx\r\n" +
		"--XX\r\nContent-Disposition: form-data\r\n\r\nnoname\r\n--XX--\r\n"
	expect(t, c.do("POST", "/services", "multipart/form-data; boundary=XX", []byte(body)), http.StatusCreated, "unnamed part")
}

// TestConfigNeedsDBLess: with a database, Kong answers /config (GET and
// POST) with 400 "this endpoint is only available when Kong is configured
// to not use a database"; ours exported everything on GET and said 404 on
// POST.
func TestConfigNeedsDBLess(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	const msg = "this endpoint is only available when Kong is configured to not use a database"
	for _, r := range []*response{
		c.get("/config"),
		c.form("POST", "/config", "config=_format_version: \"3.0\"\n"),
	} {
		expect(t, r, http.StatusBadRequest, "/config")
		equal(t, "message", r.get("message"), msg)
	}
}

// TestConfigYAMLBody: Kong's /config takes a declarative file sent as is
// with Content-Type application/yaml or text/yaml (decK and curl
// --data-binary @kong.yml); ours refused it with 415. YAML alias bombs stay
// refused.
func TestConfigYAMLBody(t *testing.T) {
	node := startNode(t, map[string]string{"database": "off"})
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	for i, ct := range []string{"application/yaml", "text/yaml; charset=utf-8"} {
		name := "yaml-" + strconv.Itoa(i)
		r := c.do("POST", "/config", ct, []byte("_format_version: \"3.0\"\nservices:\n- name: "+name+"\n  host: y.test\n"))
		expect(t, r, http.StatusCreated, ct)
		expect(t, c.get("/services/"+name), http.StatusOK, "loaded by "+ct)
	}
	bomb := "_format_version: \"3.0\"\na: &a [\"l\",\"l\",\"l\",\"l\",\"l\",\"l\",\"l\",\"l\",\"l\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",") + "]\n"
		prev = n
	}
	r := c.do("POST", "/config", "application/yaml", []byte(bomb))
	expect(t, r, http.StatusBadRequest, "alias bomb")
	equal(t, "code", r.get("code"), 14.0)
	expect(t, c.get("/services/yaml-1"), http.StatusOK, "config kept")
	// Other routes still refuse YAML.
	expect(t, c.do("POST", "/schemas/services/validate", "application/yaml", []byte("host: x\n")), http.StatusUnsupportedMediaType, "YAML elsewhere")
}
