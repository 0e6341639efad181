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
