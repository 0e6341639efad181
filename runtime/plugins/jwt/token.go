package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"math/big"
	"strings"
)

// Token is a decoded JWT: its three base64url parts, the decoded header
// and claims, and the raw signature. Kong's jwt_parser keeps the same.
type Token struct {
	// Header64, Claims64 and Signature64 are the parts as received.
	Header64, Claims64, Signature64 string
	// Header and Claims are the decoded JSON objects (numbers as
	// json.Number).
	Header, Claims map[string]any
	// Signature is the decoded signature.
	Signature []byte
	// Alg is the header's "alg", one of the supported algorithms.
	Alg string
}

// The reasons ParseToken gives, which the plugin prefixes with "Bad token; "
// as Kong does.
var (
	errInvalidJSON      = errors.New("invalid JSON")
	errInvalidAlg       = errors.New("invalid alg")
	errInvalidClaims    = errors.New("invalid claims")
	errInvalidSignature = errors.New("invalid signature")
)

// supported lists the algorithms a token may name (Kong's alg_verify).
var supported = map[string]bool{
	"HS256": true, "HS384": true, "HS512": true,
	"RS256": true, "RS384": true, "RS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"EdDSA": true,
}

// ParseToken splits and decodes a token as Kong's jwt_parser does: at most
// three parts on '.', the last keeping any further dots; header and claims
// must be base64url-encoded JSON, the header naming a supported "alg".
// Where Kong would fail with a Lua error (a header or claims that decode
// to JSON other than an object) it answers "invalid alg" or "invalid
// claims".
func ParseToken(token string) (*Token, error) {
	h64, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errInvalidJSON
	}
	c64, s64, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, errInvalidJSON
	}
	hb, ok1 := decodeBase64URL(h64)
	cb, ok2 := decodeBase64URL(c64)
	if !ok1 || !ok2 {
		return nil, errInvalidJSON
	}
	hv, err1 := decodeJSON(hb)
	cv, err2 := decodeJSON(cb)
	if err1 != nil || err2 != nil {
		return nil, errInvalidJSON
	}
	sig, sigOK := decodeBase64URL(s64)
	header, _ := hv.(map[string]any)
	alg, _ := header["alg"].(string)
	if !supported[alg] {
		return nil, errInvalidAlg
	}
	claims, ok := cv.(map[string]any)
	if !ok {
		return nil, errInvalidClaims
	}
	if !sigOK {
		return nil, errInvalidSignature
	}
	return &Token{Header64: h64, Claims64: c64, Signature64: s64, Header: header, Claims: claims, Signature: sig, Alg: alg}, nil
}

// decodeJSON decodes one JSON value with numbers kept exact; trailing
// data other than white space is an error, as in cjson.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errInvalidJSON
	}
	if _, err := d.Token(); err == nil {
		return nil, errInvalidJSON
	}
	return v, nil
}

// decodeBase64URL decodes as nginx's ngx_decode_base64url does once Kong
// padded the input: decoding stops at the first '=', any byte outside the
// base64url alphabet before it is an error, and so is a length of 1
// modulo 4; unused trailing bits are ignored.
func decodeBase64URL(s string) ([]byte, bool) {
	return decodeBase64(s, base64.RawURLEncoding, isURLAlphabet)
}

// decodeBase64Std is decodeBase64URL with the standard alphabet
// (ngx.decode_base64).
func decodeBase64Std(s string) ([]byte, bool) {
	return decodeBase64(s, base64.RawStdEncoding, isStdAlphabet)
}

func decodeBase64(s string, enc *base64.Encoding, valid func(byte) bool) ([]byte, bool) {
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	for i := 0; i < len(s); i++ {
		if !valid(s[i]) {
			return nil, false
		}
	}
	if len(s)%4 == 1 {
		return nil, false
	}
	out, err := enc.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return out, true
}

func isAlnum(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

func isURLAlphabet(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }
func isStdAlphabet(c byte) bool { return isAlnum(c) || c == '+' || c == '/' }

// signingInput is what the signature covers.
func (t *Token) signingInput() []byte {
	b := make([]byte, 0, len(t.Header64)+1+len(t.Claims64))
	b = append(b, t.Header64...)
	b = append(b, '.')
	return append(b, t.Claims64...)
}

// hashFor returns the hash of an algorithm's size suffix.
func hashFor(alg string) crypto.Hash {
	switch alg[len(alg)-3:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

func newHash(h crypto.Hash) func() hash.Hash {
	switch h {
	case crypto.SHA384:
		return sha512.New384
	case crypto.SHA512:
		return sha512.New
	}
	return sha256.New
}

// VerifyHMAC checks an HS* token's signature with a shared secret.
func (t *Token) VerifyHMAC(secret []byte) bool {
	if !strings.HasPrefix(t.Alg, "HS") {
		return false
	}
	m := hmac.New(newHash(hashFor(t.Alg)), secret)
	m.Write(t.signingInput())
	return hmac.Equal(m.Sum(nil), t.Signature)
}

// VerifyKey checks an RS*, PS*, ES* or EdDSA token's signature with a
// public key (as ParsePublicKey returns it). A key of the wrong kind, or
// an ECDSA or PSS signature of the wrong length (a Lua assertion in Kong),
// does not verify.
func (t *Token) VerifyKey(key crypto.PublicKey) bool {
	input := t.signingInput()
	if t.Alg == "EdDSA" {
		pub, ok := key.(ed25519.PublicKey)
		return ok && ed25519.Verify(pub, input, t.Signature)
	}
	h := hashFor(t.Alg)
	d := newHash(h)()
	d.Write(input)
	digest := d.Sum(nil)
	switch t.Alg[:2] {
	case "RS":
		pub, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pub, h, digest, t.Signature) == nil
	case "PS":
		pub, ok := key.(*rsa.PublicKey)
		return ok && len(t.Signature) == 256 &&
			rsa.VerifyPSS(pub, h, digest, t.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	case "ES":
		pub, ok := key.(*ecdsa.PublicKey)
		size := map[crypto.Hash]int{crypto.SHA256: 64, crypto.SHA384: 96, crypto.SHA512: 132}[h]
		if !ok || len(t.Signature) != size {
			return false
		}
		r := new(big.Int).SetBytes(t.Signature[:size/2])
		s := new(big.Int).SetBytes(t.Signature[size/2:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}

// ParsePublicKey reads the key of a jwt_secrets rsa_public_key: a PEM
// block holding a PKIX or PKCS #1 public key, or a private key (PKCS #1,
// PKCS #8 or SEC 1) whose public half is used, as OpenSSL's pkey.new
// accepts them.
func ParsePublicKey(text string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("invalid key")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k, nil
	}
	var priv any
	var err error
	if priv, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if priv, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			if priv, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
				return nil, errors.New("invalid key")
			}
		}
	}
	if s, ok := priv.(crypto.Signer); ok {
		return s.Public(), nil
	}
	return nil, errors.New("invalid key")
}
