package store

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Kong 3.x's key_sets and keys entities (kong/db/schema/entities/key_sets.lua
// and keys.lua): JSON Web Keys and PEM key pairs, optionally grouped in a
// key set that owns them (deleting a set deletes its keys).

// KeySets declares Kong's key_sets entity.
func KeySets() *Entity {
	return &Entity{
		Name: "key_sets", Path: "key-sets", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Unique: true, Description: "The name to associate with the given Key Set."},
				tagsField(),
				createdAtField(), updatedAtField(),
			},
		},
	}
}

// Keys declares Kong's keys entity.
func Keys() *Entity {
	return &Entity{
		Name: "keys", Path: "keys", EndpointKey: "name",
		CacheKey:     []string{"kid", "set"},
		KongCacheKey: []string{"kid", "set"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "set", Type: schema.Foreign, Reference: "key_sets", OnDelete: "cascade",
					Description: "The id of the Key Set with which to associate the key."},
				{Name: "name", Type: schema.String, Unique: true, Description: "The name to associate with the given keys."},
				{Name: "kid", Type: schema.String, Required: true, Description: "A unique identifier for a key."},
				{Name: "jwk", Type: schema.String, Referenceable: true, Encrypted: true,
					Description: "A JSON Web Key represented as a string."},
				{Name: "pem", Type: schema.Record, Optional: true, Check: checkPEMPair,
					Description: "A pair of PEM-encoded public and private keys, which can be either a string or a reference to a credential in Kong Vault. If provided as strings, they must be valid PEM-encoded keys.",
					Fields: []*schema.Field{
						{Name: "private_key", Type: schema.String, Referenceable: true, Encrypted: true},
						{Name: "public_key", Type: schema.String, Referenceable: true},
					}},
				tagsField(),
				createdAtField(), updatedAtField(),
			},
			Checks: []func(map[string]any) []string{checkKeyFormats},
		},
	}
}

// checkKeyFormats is keys.lua's entity checks: exactly one of jwk and pem,
// and a jwk that decodes, names the entity's kid and loads as a key.
func checkKeyFormats(rec map[string]any) []string {
	jwk, hasJWK := rec["jwk"].(string)
	_, hasPEM := rec["pem"].(map[string]any)
	switch {
	case hasJWK && hasPEM:
		return []string{"only one or none of these fields must be set: 'jwk', 'pem'"}
	case !hasJWK && !hasPEM:
		return []string{"at least one of these fields must be non-empty: 'jwk', 'pem'"}
	case !hasJWK || isVaultReference(jwk):
		return nil
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(jwk), &doc); err != nil {
		return []string{"could not json decode jwk string"}
	}
	if kid, _ := rec["kid"].(string); doc["kid"] != kid {
		return []string{"kid in jwk.kid must be equal to keys.kid"}
	}
	if !loadJWK(doc) {
		return []string{"could not load JWK, likely not a valid key"}
	}
	if errs := schema.Validate(jwkSchema, schema.Clone(doc).(map[string]any)); !errs.Empty() {
		return []string{strings.Join(errs.Flatten(), ", ")}
	}
	return nil
}

func isVaultReference(s string) bool { return strings.HasPrefix(s, "{vault://") }

// jwkSchema is Kong's typedefs.jwk record: the members a JWK may carry.
var jwkSchema = func() *schema.Schema {
	s := &schema.Schema{}
	for _, n := range []string{"issuer", "kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t", "x5t#S256",
		"k", "x", "y", "crv", "n", "e", "d", "p", "q", "dp", "dq", "qi", "oth", "r", "t"} {
		f := &schema.Field{Name: n, Type: schema.String}
		if n == "key_ops" || n == "x5c" {
			f = &schema.Field{Name: n, Type: schema.Array, Elements: &schema.Field{Type: schema.String}}
		}
		f.Required = n == "kid"
		s.Fields = append(s.Fields, f)
	}
	return s
}()

// loadJWK reports whether a JWK loads as an RSA, EC or OKP key, the types
// OpenSSL's JWK loader (lua-resty-openssl) accepts.
func loadJWK(doc map[string]any) bool {
	b64 := func(name string) []byte {
		s, _ := doc[name].(string)
		if s == "" {
			return nil
		}
		out, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil
		}
		return out
	}
	num := func(name string) *big.Int {
		b := b64(name)
		if b == nil {
			return nil
		}
		return new(big.Int).SetBytes(b)
	}
	switch doc["kty"] {
	case "RSA":
		n, e := num("n"), num("e")
		if n == nil || e == nil || !e.IsInt64() || e.Int64() < 2 || n.BitLen() < 512 {
			return false
		}
		if d := num("d"); d != nil {
			p, q := num("p"), num("q")
			if p == nil || q == nil {
				return false
			}
			k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(e.Int64())}, D: d, Primes: []*big.Int{p, q}}
			return k.Validate() == nil
		}
		return true
	case "EC":
		var curve elliptic.Curve
		var ec ecdh.Curve
		switch doc["crv"] {
		case "P-256":
			curve, ec = elliptic.P256(), ecdh.P256()
		case "P-384":
			curve, ec = elliptic.P384(), ecdh.P384()
		case "P-521":
			curve, ec = elliptic.P521(), ecdh.P521()
		default:
			return false
		}
		x, y := b64("x"), b64("y")
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return false
		}
		point := append([]byte{4}, append(x, y...)...)
		if _, err := ec.NewPublicKey(point); err != nil {
			return false
		}
		if d := b64("d"); d != nil {
			priv, err := ec.NewPrivateKey(d)
			if err != nil || string(priv.PublicKey().Bytes()) != string(point) {
				return false
			}
		}
		return true
	case "OKP":
		x := b64("x")
		switch doc["crv"] {
		case "Ed25519":
			if len(x) != ed25519.PublicKeySize {
				return false
			}
			if d := b64("d"); d != nil {
				return len(d) == ed25519.SeedSize && string(ed25519.NewKeyFromSeed(d).Public().(ed25519.PublicKey)) == string(x)
			}
			return true
		case "X25519":
			if _, err := ecdh.X25519().NewPublicKey(x); err != nil {
				return false
			}
			if d := b64("d"); d != nil {
				priv, err := ecdh.X25519().NewPrivateKey(d)
				return err == nil && string(priv.PublicKey().Bytes()) == string(x)
			}
			return true
		}
	}
	return false
}

// checkPEMPair is typedefs.pem's checks: at least one key, each loads, and
// a private key given with a public key matches it.
func checkPEMPair(v any) string {
	m, _ := v.(map[string]any)
	priv, hasPriv := m["private_key"].(string)
	pub, hasPub := m["public_key"].(string)
	if !hasPriv && !hasPub {
		return "at least one of these fields must be non-empty: 'private_key', 'public_key'"
	}
	if (hasPriv && isVaultReference(priv)) || (hasPub && isVaultReference(pub)) {
		return ""
	}
	var pubKey, privPub any
	if hasPub {
		k, ok := parsePEMPublic(pub)
		if !ok {
			return "could not load public key"
		}
		pubKey = k
	}
	if hasPriv {
		k, ok := parsePEMPrivate(priv)
		if !ok {
			return "could not load private key"
		}
		privPub = k
	}
	if pubKey != nil && privPub != nil {
		a, err1 := x509.MarshalPKIXPublicKey(pubKey)
		b, err2 := x509.MarshalPKIXPublicKey(privPub)
		if err1 != nil || err2 != nil || string(a) != string(b) {
			return "public key does not match private key"
		}
	}
	return ""
}

func parsePEMPublic(s string) (any, bool) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, false
	}
	if k, err := x509.ParsePKIXPublicKey(b.Bytes); err == nil {
		return k, true
	}
	if k, err := x509.ParsePKCS1PublicKey(b.Bytes); err == nil {
		return k, true
	}
	return nil, false
}

// parsePEMPrivate returns the public half of a PEM private key.
func parsePEMPrivate(s string) (any, bool) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, false
	}
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(b.Bytes); err != nil {
			if key, err = x509.ParseECPrivateKey(b.Bytes); err != nil {
				return nil, false
			}
		}
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey, true
	case *ecdsa.PrivateKey:
		return &k.PublicKey, true
	case ed25519.PrivateKey:
		return k.Public(), true
	case *ecdh.PrivateKey:
		return k.PublicKey(), true
	}
	return nil, false
}
