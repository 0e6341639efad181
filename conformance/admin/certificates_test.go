package admin_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testcert"
)

func selfSigned(t *testing.T, name string) (string, string) {
	t.Helper()
	cert, key, err := testcert.SelfSigned(name)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestCertificateSNIs checks the certificates' `snis` shorthand: SNIs are
// created with the certificate, shown on it, replaced by a PATCH, refused
// when another certificate holds the name, and removed with it.
func TestCertificateSNIs(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	cert, key := selfSigned(t, "a.example.com")
	created := c.json("POST", "/certificates", map[string]any{"cert": cert, "key": key, "snis": []string{"b.example.com", "a.example.com"}})
	expect(t, created, http.StatusCreated, "certificate")
	equal(t, "snis", created.get("snis"), []any{"a.example.com", "b.example.com"})
	id := created.str("id")
	expect(t, c.get("/snis/a.example.com"), http.StatusOK, "sni")
	bySNI := c.get("/certificates/b.example.com")
	expect(t, bySNI, http.StatusOK, "certificate by SNI")
	equal(t, "certificate by SNI", bySNI.get("id"), id)
	unknown := c.get("/certificates/nope.example.com")
	expect(t, unknown, http.StatusNotFound, "unknown SNI")
	equal(t, "unknown SNI", unknown.get("message"), "SNI not found")
	equal(t, "nested snis", len(c.get("/certificates/"+id+"/snis").get("data").([]any)), 2)

	patched := c.json("PATCH", "/certificates/"+id, map[string]any{"snis": []string{"c.example.com"}})
	expect(t, patched, http.StatusOK, "patch snis")
	equal(t, "patched snis", patched.get("snis"), []any{"c.example.com"})
	expect(t, c.get("/snis/a.example.com"), http.StatusNotFound, "removed sni")

	cert2, key2 := selfSigned(t, "c.example.com")
	clash := c.json("POST", "/certificates", map[string]any{"cert": cert2, "key": key2, "snis": []string{"c.example.com"}})
	expect(t, clash, http.StatusBadRequest, "sni of another certificate")
	equal(t, "clash", clash.get("fields.snis"), "c.example.com already associated with existing certificate '"+id+"'")
	equal(t, "certificates after clash", len(c.get("/certificates").get("data").([]any)), 1)

	bad := c.json("POST", "/certificates", map[string]any{"cert": "not a pem", "key": key2})
	expect(t, bad, http.StatusBadRequest, "bad certificate")

	expect(t, c.do("DELETE", "/certificates/"+id, "", nil), http.StatusNoContent, "delete certificate")
	equal(t, "snis after delete", len(c.get("/snis").get("data").([]any)), 0)
}

// TestTargetsByAddress: targets are found by host:port under their
// upstream (the default port 8000 filled in), POSTing an existing target
// updates it with Kong's Deprecation header, and PUT creates by address.
func TestTargetsByAddress(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	expect(t, c.form("POST", "/upstreams", "name=u.test"), http.StatusCreated, "upstream")
	first := c.form("POST", "/upstreams/u.test/targets", "target=10.0.0.1")
	expect(t, first, http.StatusCreated, "target")
	equal(t, "normalized target", first.get("target"), "10.0.0.1:8000")
	for _, key := range []string{"10.0.0.1:8000", "10.0.0.1", first.str("id")} {
		got := c.get("/upstreams/u.test/targets/" + key)
		expect(t, got, http.StatusOK, "target by "+key)
		equal(t, "target id", got.get("id"), first.get("id"))
	}
	again := c.form("POST", "/upstreams/u.test/targets", "target=10.0.0.1:8000", "weight=50")
	expect(t, again, http.StatusOK, "re-POST target")
	equal(t, "updated weight", again.get("weight"), 50.0)
	equal(t, "same target", again.get("id"), first.get("id"))
	if again.header.Get("Deprecation") != "true" {
		t.Errorf("Deprecation header %q", again.header.Get("Deprecation"))
	}
	put := c.form("PUT", "/upstreams/u.test/targets/10.0.0.2:80", "weight=10")
	expect(t, put, http.StatusOK, "PUT target by address")
	equal(t, "PUT target", put.get("target"), "10.0.0.2:80")
	equal(t, "targets", len(c.get("/upstreams/u.test/targets").get("data").([]any)), 2)
	expect(t, c.get("/upstreams/u.test/targets/10.9.9.9:1"), http.StatusNotFound, "unknown target")
}
