package store

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Developer passwords are stored as PBKDF2-HMAC-SHA512 hashes (the
// standard library's crypto/pbkdf2; bcrypt would take golang.org/x/crypto,
// which go.mod does not hold), in the form
// $pbkdf2-sha512$i=<iterations>$<salt>$<hash>, salt and hash in unpadded
// base64. PasswordIterations is OWASP's recommendation for SHA-512.
const (
	PasswordIterations = 210000
	passwordPrefix     = "$pbkdf2-sha512$"
	passwordSaltLen    = 16
	passwordKeyLen     = 64
	// maxPasswordIterations bounds the work a stored hash can ask for.
	maxPasswordIterations = 10_000_000
)

// HashDeveloperPassword hashes a developer's password with a fresh salt.
func HashDeveloperPassword(password string) (string, error) {
	salt := make([]byte, passwordSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("store: salt for a developer password: %w", err)
	}
	key, err := pbkdf2.Key(sha512.New, password, salt, PasswordIterations, passwordKeyLen)
	if err != nil {
		return "", fmt.Errorf("store: hashing a developer password: %w", err)
	}
	enc := base64.RawStdEncoding
	return passwordPrefix + "i=" + strconv.Itoa(PasswordIterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// CheckDeveloperPassword reports whether password matches a hash
// HashDeveloperPassword made; a malformed hash matches nothing.
func CheckDeveloperPassword(hash, password string) bool {
	rest, ok := strings.CutPrefix(hash, passwordPrefix)
	if !ok {
		return false
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "i=") {
		return false
	}
	iter, err := strconv.Atoi(parts[0][2:])
	if err != nil || iter < 1 || iter > maxPasswordIterations {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[1])
	want, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got, err := pbkdf2.Key(sha512.New, password, salt, iter, len(want))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}
