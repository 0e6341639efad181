package basicauth

import (
	"crypto/sha1"
	"encoding/hex"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// CredentialEntity is the name of the plugin's credentials, as Kong names
// them in its daos.lua, the Admin API and kong.yml.
const CredentialEntity = "basicauth_credentials"

// HashPassword hashes a basic-auth password the way Kong stores it: hex
// SHA-1 of the password followed by the consumer id.
func HashPassword(password, consumerID string) string {
	sum := sha1.Sum([]byte(password + consumerID))
	return hex.EncodeToString(sum[:])
}

// Credentials declares the plugin's credentials, served at /basic-auths
// and /consumers/{consumer}/basic-auth. The password is stored and
// returned only as its hash.
func Credentials() *store.Entity {
	return &store.Entity{
		Name: CredentialEntity, Path: "basic-auths", NestedPath: "basic-auth", EndpointKey: "username",
		KongCacheKey: []string{"username"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ConsumerField(),
				{Name: "username", Type: schema.String, Required: true, Unique: true},
				{Name: "password", Type: schema.String, Required: true, Encrypted: true},
				store.TagsField(),
			},
		},
		BeforeWrite: func(old, rec map[string]any) error {
			pw, ok := rec["password"].(string)
			if !ok {
				return nil // required: validation reports it
			}
			consumerID := store.ForeignID(rec["consumer"])
			if old != nil && old["password"] == pw && store.ForeignID(old["consumer"]) == consumerID {
				return nil // unchanged hash carried over by a PATCH that left it out
			}
			rec["password"] = HashPassword(pw, consumerID)
			return nil
		},
	}
}
