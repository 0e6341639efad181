package router

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// Kong's ATC router keeps matchers in a BTreeMap keyed by (priority, UUID)
// and tries them from the largest key down: among routes of equal priority
// the one with the greatest id (compared as a 128-bit number, which is the
// order of the lower-case hex form) is tried first. traditional_compatible
// does not use created_at.
//
// A route whose paths mix regexes and prefixes of different lengths is
// split into one matcher per group; matcher i (1-based, groups in order of
// first appearance) gets the id uuid_v5(7f145bf9-..., "<route id>#<i>").

var splitNamespace = mustParseUUID("7f145bf9-0dce-4f91-98eb-debbce4b9f6b")

func mustParseUUID(s string) [16]byte {
	u, ok := parseUUID(s)
	if !ok {
		panic("router: bad uuid " + s)
	}
	return u
}

func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, false
	}
	return u, true
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// uuidV5 is RFC 4122 name-based UUID version 5 (SHA-1), as
// resty.jit-uuid's factory_v5 computes it.
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// idKey is the tie-break key of a matcher id: the lower-case hex form for
// UUIDs (their numeric order), the id itself otherwise.
func idKey(id string) string {
	if _, ok := parseUUID(id); ok {
		return strings.ToLower(id)
	}
	return id
}
