package admin_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"
)

// selfSigned returns a PEM certificate and key for name.
func selfSigned(t *testing.T, name string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
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
