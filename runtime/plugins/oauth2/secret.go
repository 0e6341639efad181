package oauth2

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Kong's PBKDF2 settings for hashed client secrets (secret.lua).
const (
	pbkdf2Iterations = 10000
	pbkdf2KeyLen     = 32
	pbkdf2SaltLen    = 16
	pbkdf2Prefix     = "$pbkdf2-sha512$i=10000,l=32$"
)

var b64 = base64.RawStdEncoding

// HashSecret returns Kong's PHC string for secret:
// $pbkdf2-sha512$i=10000,l=32$<salt>$<hash>, base64 without padding.
func HashSecret(secret string) (string, error) {
	salt := make([]byte, pbkdf2SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("oauth2: reading a salt: %w", err)
	}
	return derive(secret, salt, pbkdf2Iterations, pbkdf2KeyLen)
}

func derive(secret string, salt []byte, iter, keyLen int) (string, error) {
	key, err := pbkdf2.Key(sha512.New, secret, salt, iter, keyLen)
	if err != nil {
		return "", fmt.Errorf("oauth2: deriving the secret's hash: %w", err)
	}
	// Kong writes its default parameters whatever it derived with.
	return pbkdf2Prefix + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// VerifySecret reports whether secret matches a hash HashSecret made (or
// Kong's secret.lua did, with the sha512 digest).
func VerifySecret(secret, hash string) bool {
	if !strings.HasPrefix(hash, "$pbkdf2-sha512$") {
		return false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 5 {
		return false
	}
	iter, keyLen := pbkdf2Iterations, pbkdf2KeyLen
	for _, kv := range strings.Split(parts[2], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 || n > 1<<20 {
			return false
		}
		switch strings.TrimSpace(k) {
		case "i":
			iter = n
		case "l":
			keyLen = n
		}
	}
	salt, err := b64.DecodeString(parts[3])
	if err != nil {
		return false
	}
	got, err := derive(secret, salt, iter, keyLen)
	return err == nil && hmac.Equal([]byte(got), []byte(hash))
}
