package rbac_test

import (
	"crypto/sha256"
	"encoding/hex"
)

// sha256hex is how rbac_users stores a token's digest.
func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
