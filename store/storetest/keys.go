package storetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestKeyMaterial is key material for the keys entity: a JWK and a PEM
// pair of one EC P-256 key, and a PEM public key of another.
type TestKeyMaterial struct {
	JWK            map[string]any
	PrivatePEM     string
	PublicPEM      string
	OtherPublicPEM string
	EdJWK          map[string]any
	RSAJWK         map[string]any
}

// NewTestKeyMaterial generates fresh keys.
func NewTestKeyMaterial(t *testing.T) TestKeyMaterial {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	pad := func(n *big.Int) string { return b64(n.FillBytes(make([]byte, 32))) }
	privDER, _ := x509.MarshalPKCS8PrivateKey(k)
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	otherDER, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return TestKeyMaterial{
		JWK:            map[string]any{"kty": "EC", "crv": "P-256", "kid": "ec-1", "x": pad(k.X), "y": pad(k.Y), "use": "sig"},
		PrivatePEM:     pemOf("PRIVATE KEY", privDER),
		PublicPEM:      pemOf("PUBLIC KEY", pubDER),
		OtherPublicPEM: pemOf("PUBLIC KEY", otherDER),
		EdJWK:          map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": b64(edPub)},
		RSAJWK:         map[string]any{"kty": "RSA", "kid": "rsa-1", "n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
	}
}

// JWKString renders a JWK as the keys entity stores it, with kid set.
func JWKString(jwk map[string]any, kid string) string {
	m := map[string]any{}
	for k, v := range jwk {
		m[k] = v
	}
	if kid != "" {
		m["kid"] = kid
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func runKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("KeysAndKeySets", func(t *testing.T) {
		b := open(t, false)
		t.Cleanup(func() { b.Close() })
		s := store.New(b, store.Options{Plugins: TestPlugins{}})
		km := NewTestKeyMaterial(t)
		set, err := s.Insert(ctx, "key_sets", map[string]any{"name": "signing"})
		if err != nil {
			t.Fatal(err)
		}
		setRef := map[string]any{"id": set["id"]}
		valid := []map[string]any{
			{"name": "ec-jwk", "kid": "ec-1", "jwk": JWKString(km.JWK, "ec-1"), "set": setRef},
			{"name": "ed-jwk", "kid": "ed-1", "jwk": JWKString(km.EdJWK, "ed-1"), "set": map[string]any{"name": "signing"}},
			{"name": "rsa-jwk", "kid": "rsa-1", "jwk": JWKString(km.RSAJWK, "rsa-1")},
			{"name": "pem-pair", "kid": "pem-1", "pem": map[string]any{"private_key": km.PrivatePEM, "public_key": km.PublicPEM}, "set": setRef},
			{"name": "pem-public", "kid": "pem-2", "pem": map[string]any{"public_key": km.PublicPEM}},
			{"kid": "ec-1", "jwk": JWKString(km.JWK, "ec-1")}, // the same kid outside the set
		}
		for _, in := range valid {
			if _, err := s.Insert(ctx, "keys", in); err != nil {
				t.Errorf("insert key %v: %v", in["name"], err)
			}
		}
		got, err := s.Get(ctx, "keys", "pem-pair")
		if err != nil || foreignIDOf(got["set"]) != set["id"] || got["jwk"] != nil {
			t.Errorf("get pem-pair: %v %v", got, err)
		}
		refused := []struct {
			name string
			in   map[string]any
			code store.Code
			want string // the "@entity" message, or the field's message with field set
			fld  string
		}{
			{"both formats", map[string]any{"kid": "x", "jwk": JWKString(km.JWK, "x"), "pem": map[string]any{"public_key": km.PublicPEM}}, store.CodeSchemaViolation,
				"only one or none of these fields must be set: 'jwk', 'pem'", ""},
			{"no format", map[string]any{"kid": "x"}, store.CodeSchemaViolation, "at least one of these fields must be non-empty: 'jwk', 'pem'", ""},
			{"jwk not JSON", map[string]any{"kid": "x", "jwk": "{nope"}, store.CodeSchemaViolation, "could not json decode jwk string", ""},
			{"kid mismatch", map[string]any{"kid": "x", "jwk": JWKString(km.JWK, "y")}, store.CodeSchemaViolation, "kid in jwk.kid must be equal to keys.kid", ""},
			{"not a key", map[string]any{"kid": "x", "jwk": `{"kid":"x","kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}`}, store.CodeSchemaViolation,
				"could not load JWK, likely not a valid key", ""},
			{"symmetric jwk", map[string]any{"kid": "x", "jwk": `{"kid":"x","kty":"oct","k":"c2VjcmV0"}`}, store.CodeSchemaViolation,
				"could not load JWK, likely not a valid key", ""},
			{"jwk with an unknown member", map[string]any{"kid": "ec-1", "jwk": JWKString(map[string]any{"kty": "EC", "crv": "P-256", "x": km.JWK["x"], "y": km.JWK["y"], "bogus": "1"}, "ec-1")},
				store.CodeSchemaViolation, "bogus: unknown field", ""},
			{"pem without keys", map[string]any{"kid": "x", "pem": map[string]any{}}, store.CodeSchemaViolation,
				"at least one of these fields must be non-empty: 'private_key', 'public_key'", "pem"},
			{"pem public key garbage", map[string]any{"kid": "x", "pem": map[string]any{"public_key": "garbage"}}, store.CodeSchemaViolation, "could not load public key", "pem"},
			{"pem private key garbage", map[string]any{"kid": "x", "pem": map[string]any{"private_key": km.PublicPEM}}, store.CodeSchemaViolation, "could not load private key", "pem"},
			{"pem pair mismatch", map[string]any{"kid": "x", "pem": map[string]any{"private_key": km.PrivatePEM, "public_key": km.OtherPublicPEM}}, store.CodeSchemaViolation,
				"public key does not match private key", "pem"},
			{"kid missing", map[string]any{"jwk": JWKString(km.JWK, "")}, store.CodeSchemaViolation, "required field missing", "kid"},
			{"kid twice in a set", map[string]any{"kid": "ec-1", "jwk": JWKString(km.JWK, "ec-1"), "set": setRef}, store.CodeUniqueViolation, "", ""},
			{"unknown set", map[string]any{"kid": "z", "jwk": JWKString(km.JWK, "z"), "set": map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}},
				store.CodeForeignKeyViolation, "", ""},
		}
		for _, c := range refused {
			_, err := s.Insert(ctx, "keys", c.in)
			e, ok := store.AsError(err)
			if !ok || e.Code != c.code {
				t.Errorf("%s: got %v, want code %d", c.name, err, c.code)
				continue
			}
			if c.want == "" {
				continue
			}
			if c.fld != "" {
				if e.Fields[c.fld] != c.want {
					t.Errorf("%s: %s = %v, want %q", c.name, c.fld, e.Fields[c.fld], c.want)
				}
				continue
			}
			list, _ := e.Fields["@entity"].([]any)
			if len(list) != 1 || list[0] != c.want {
				t.Errorf("%s: @entity = %v, want %q", c.name, e.Fields["@entity"], c.want)
			}
		}
		page, err := s.List(ctx, "keys", store.ListQuery{ForeignField: "set", ForeignKey: "signing"})
		if err != nil || len(page.Data) != 3 {
			t.Fatalf("keys of the set: %v %v", page, err)
		}
		// Deleting the set deletes its keys, as Kong's on_delete = "cascade".
		if _, err := s.Delete(ctx, "key_sets", "signing"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(ctx, "keys"); n != 3 {
			t.Errorf("%d keys left after deleting the set, want 3", n)
		}
	})
}

func foreignIDOf(v any) any {
	m, _ := v.(map[string]any)
	return m["id"]
}
