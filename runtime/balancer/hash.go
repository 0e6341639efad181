package balancer

import (
	"crypto/rand"
	"encoding/hex"
	"math/bits"
	"slices"
	"strings"
)

// HashInput carries the request facts Kong may hash on (runloop/balancer
// init.lua get_value_to_hash). Use one HashInput per request and pass the same
// pointer to every Pick of that request: the value to hash is computed on the
// first Pick and cached in it, as Kong computes it once per request, so that
// retries hash the same way and a generated cookie stays the same. A HashInput
// must not be shared between concurrent Picks.
type HashInput struct {
	// ConsumerID is the authenticated consumer's id ("" when none).
	ConsumerID string
	// CredentialID is the authenticated credential's id, Kong's fallback for
	// hash_on=consumer when there is no consumer ("" when none).
	CredentialID string
	// ClientIP is the client address as Kong's $remote_addr ("" when unknown).
	ClientIP string
	// Path is the normalized request path, Kong's $uri.
	Path string
	// Header returns all values of a request header (http.Header.Values fits);
	// none means absent. Several values are joined with ", " as nginx does.
	Header func(name string) []string
	// Cookie returns a request cookie's value and whether it is present.
	Cookie func(name string) (string, bool)
	// Query returns all values of a query argument (url.Values fits: use
	// func(n string) []string { return q[n] }); none means absent. Several
	// values are sorted and joined with "," as Kong does. Note Kong reads
	// "?a" (no "=") as "true".
	Query func(name string) []string
	// URICapture returns a named or numbered capture of the matched route
	// path regex and whether it is present.
	URICapture func(name string) (string, bool)

	done   bool
	value  string
	cookie *HashCookie
}

// HashCookie is the cookie Kong generates when the upstream hashes on a
// cookie the client did not send. The proxy must send it back as Set-Cookie
// (see String) on the response to that request.
type HashCookie struct {
	Name  string
	Value string // a random UUID
	Path  string // upstream.hash_on_cookie_path, "/" by default
}

// String formats the Set-Cookie header value as Kong does.
func (c *HashCookie) String() string {
	path := c.Path
	if path == "" {
		path = "/"
	}
	return c.Name + "=" + c.Value + "; Path=" + path + "; Same-Site=Lax; HttpOnly"
}

// hashValue returns the value to hash for in, computing it on first use as
// Kong's get_value_to_hash: hash_on first, then hash_fallback; "" when no
// value was found.
func (u *upstreamConfig) hashValue(in *HashInput) (string, *HashCookie) {
	if in == nil || u.hashOn == "none" || u.hashOn == "" {
		return "", nil
	}
	if in.done {
		return in.value, in.cookie
	}
	in.done = true
	on := u.hashOn
	header, query, capture := u.hashOnHeader, u.hashOnQueryArg, u.hashOnURICapture
	for range 2 {
		if v, ok := u.identifier(in, on, header, query, capture); ok {
			in.value = v
			return in.value, in.cookie
		}
		on = u.hashFallback
		header, query, capture = u.hashFallbackHeader, u.hashFallbackQueryArg, u.hashFallbackURICapture
		if on == "none" || on == "" {
			break
		}
	}
	return "", in.cookie
}

func (u *upstreamConfig) identifier(in *HashInput, on, header, query, capture string) (string, bool) {
	switch on {
	case "consumer":
		if in.ConsumerID != "" {
			return in.ConsumerID, true
		}
		if in.CredentialID != "" {
			return in.CredentialID, true
		}
	case "ip":
		if in.ClientIP != "" {
			return in.ClientIP, true
		}
	case "header":
		if in.Header != nil && header != "" {
			switch vals := in.Header(header); len(vals) {
			case 0:
			case 1:
				return vals[0], true
			default:
				return strings.Join(vals, ", "), true
			}
		}
	case "cookie":
		if in.Cookie != nil {
			if v, ok := in.Cookie(u.hashOnCookie); ok {
				return v, true
			}
		}
		// absent: Kong generates one and sets it on the response
		c := &HashCookie{Name: u.hashOnCookie, Value: newUUID(), Path: u.hashOnCookiePath}
		in.cookie = c
		return c.Value, true
	case "path":
		if in.Path != "" {
			return in.Path, true
		}
	case "query_arg":
		if in.Query != nil && query != "" {
			switch vals := in.Query(query); len(vals) {
			case 0:
			case 1:
				return vals[0], true
			default:
				s := slices.Clone(vals)
				slices.Sort(s)
				return strings.Join(s, ","), true
			}
		}
	case "uri_capture":
		if in.URICapture != nil && capture != "" {
			if v, ok := in.URICapture(capture); ok {
				return v, true
			}
		}
	}
	return "", false
}

// newUUID returns a random (version 4) UUID string.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

const (
	prime32x1 uint32 = 2654435761
	prime32x2 uint32 = 2246822519
	prime32x3 uint32 = 3266489917
	prime32x4 uint32 = 668265263
	prime32x5 uint32 = 374761393
)

func le32(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

func xxRound(acc, in uint32) uint32 {
	return bits.RotateLeft32(acc+in*prime32x2, 13) * prime32x1
}

// xxhash32 is XXH32 with seed 0, the hash Kong's consistent-hashing balancer
// uses (luaxxhash) for both ring points and request values.
func xxhash32(s string) uint32 {
	n := len(s)
	i := 0
	var h uint32
	if n >= 16 {
		p1, p2 := prime32x1, prime32x2 // variables: the sums wrap
		v1 := p1 + p2
		v2 := p2
		v3 := uint32(0)
		v4 := -p1
		for ; i+16 <= n; i += 16 {
			v1 = xxRound(v1, le32(s, i))
			v2 = xxRound(v2, le32(s, i+4))
			v3 = xxRound(v3, le32(s, i+8))
			v4 = xxRound(v4, le32(s, i+12))
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) +
			bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = prime32x5
	}
	h += uint32(n)
	for ; i+4 <= n; i += 4 {
		h += le32(s, i) * prime32x3
		h = bits.RotateLeft32(h, 17) * prime32x4
	}
	for ; i < n; i++ {
		h += uint32(s[i]) * prime32x5
		h = bits.RotateLeft32(h, 11) * prime32x1
	}
	h ^= h >> 15
	h *= prime32x2
	h ^= h >> 13
	h *= prime32x3
	h ^= h >> 16
	return h
}
