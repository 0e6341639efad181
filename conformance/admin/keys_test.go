package admin_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/store/storetest"
)

// TestKeysAndKeySets: Kong 3.x's /key-sets, /keys and /key-sets/{set}/keys
// over real HTTP on both databases, with the set's cascade.
func TestKeysAndKeySets(t *testing.T) {
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			node := startNode(t, settings(t))
			c := &client{t: t, base: "http://" + node.Addr("admin")}
			km := storetest.NewTestKeyMaterial(t)
			set := c.json("POST", "/key-sets", map[string]any{"name": "signing", "tags": []string{"t"}})
			expect(t, set, http.StatusCreated, "key set")
			for field, want := range map[string]any{"name": "signing", "tags": []any{"t"}} {
				equal(t, "key set "+field, set.get(field), want)
			}
			nested := c.json("POST", "/key-sets/signing/keys", map[string]any{"name": "ec", "kid": "ec-1", "jwk": storetest.JWKString(km.JWK, "ec-1")})
			expect(t, nested, http.StatusCreated, "key in set")
			equal(t, "key.set", nested.get("set"), map[string]any{"id": set.str("id")})
			equal(t, "key.pem", nested.get("pem"), nil)
			pemKey := c.json("POST", "/keys", map[string]any{"name": "pem", "kid": "pem-1",
				"pem": map[string]any{"private_key": km.PrivatePEM, "public_key": km.PublicPEM}})
			expect(t, pemKey, http.StatusCreated, "pem key")
			equal(t, "pem key set", pemKey.get("set"), nil)
			expect(t, c.get("/keys/ec"), http.StatusOK, "key by name")
			expect(t, c.get("/key-sets/"+set.str("id")), http.StatusOK, "key set by id")
			equal(t, "keys of the set", len(c.get("/key-sets/signing/keys").get("data").([]any)), 1)
			equal(t, "all keys", len(c.get("/keys").get("data").([]any)), 2)

			bad := c.json("POST", "/keys", map[string]any{"kid": "x", "jwk": storetest.JWKString(km.JWK, "y")})
			expect(t, bad, http.StatusBadRequest, "kid mismatch")
			equal(t, "kid mismatch", bad.get("message"), "schema violation (kid in jwk.kid must be equal to keys.kid)")
			bad = c.json("POST", "/keys", map[string]any{"kid": "x", "pem": map[string]any{"private_key": km.PrivatePEM, "public_key": km.OtherPublicPEM}})
			expect(t, bad, http.StatusBadRequest, "pem mismatch")
			equal(t, "pem mismatch", bad.get("message"), "schema violation (pem: public key does not match private key)")

			for _, s := range []string{"/schemas/keys", "/schemas/key_sets"} {
				expect(t, c.get(s), http.StatusOK, s)
			}
			expect(t, c.do("DELETE", "/key-sets/signing", "", nil), http.StatusNoContent, "delete set")
			expect(t, c.get("/keys/ec"), http.StatusNotFound, "key of the deleted set")
			expect(t, c.get("/keys/pem"), http.StatusOK, "key outside the set")
		})
	}
}
