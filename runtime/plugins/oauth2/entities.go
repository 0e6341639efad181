package oauth2

import (
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// The entities the plugin owns, as Kong's daos.lua names them.
const (
	CredentialEntity = "oauth2_credentials"
	CodeEntity       = "oauth2_authorization_codes"
	TokenEntity      = "oauth2_tokens"
)

// validatorRedirectURI is the redirect_uris element check of Kong's
// daos.lua: an absolute URL with a scheme and a host, without a fragment.
const validatorRedirectURI = "oauth2_redirect_uri"

func init() {
	schema.RegisterValidator(validatorRedirectURI, checkRedirectURI)
}

func checkRedirectURI(v any) string {
	s, _ := v.(string)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "cannot parse '" + s + "'"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "fragment not allowed in '" + s + "'"
	}
	return ""
}

// Credentials declares the plugin's client applications (Kong's
// oauth2_credentials), served at /oauth2 and /consumers/{consumer}/oauth2;
// client id and secret are generated when left out, and a credential with
// hash_secret keeps only the PBKDF2 hash of its secret.
func Credentials() *store.Entity {
	return &store.Entity{
		Name: CredentialEntity, Path: "oauth2", EndpointKey: "client_id",
		KongCacheKey: []string{"client_id"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ConsumerField(),
				{Name: "name", Type: schema.String, Required: true},
				{Name: "client_id", Type: schema.String, Unique: true, Auto: true},
				{Name: "client_secret", Type: schema.String, Auto: true, Encrypted: true},
				{Name: "hash_secret", Type: schema.Boolean, Required: true, Default: false},
				{Name: "redirect_uris", Type: schema.Array,
					Elements: &schema.Field{Type: schema.String, Validator: validatorRedirectURI}},
				store.TagsField(),
				{Name: "client_type", Type: schema.String, Required: true, Default: "confidential", OneOf: store.OneOf("confidential", "public")},
			},
		},
		Generate: func(rec map[string]any) {
			if rec["client_id"] == nil {
				rec["client_id"] = store.RandomToken()
			}
			if rec["client_secret"] == nil {
				rec["client_secret"] = store.RandomToken()
			}
		},
		BeforeWrite: hashSecretOnWrite,
	}
}

// hashSecretOnWrite is Kong's hash_secret transformation: a credential
// written with hash_secret true stores the hash of its client_secret. A
// secret already stored hashed (an update leaving it unchanged) is kept.
func hashSecretOnWrite(old, rec map[string]any) error {
	if rec["hash_secret"] != true {
		return nil
	}
	sec, ok := rec["client_secret"].(string)
	if !ok {
		return nil
	}
	if old != nil && old["hash_secret"] == true && old["client_secret"] == sec {
		return nil
	}
	h, err := HashSecret(sec)
	if err != nil {
		return err
	}
	rec["client_secret"] = h
	return nil
}

// AuthorizationCodes declares the codes the authorize endpoint hands out
// (Kong's oauth2_authorization_codes): they live 300 seconds and are not
// exported. Kong serves no Admin API for them; Gatehouse serves them
// read-only under the entity's name.
func AuthorizationCodes() *store.Entity {
	return &store.Entity{
		Name: CodeEntity, Path: CodeEntity, TTL: true,
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ForeignField("service", "services", false, "cascade"),
				store.ForeignField("credential", CredentialEntity, true, "cascade"),
				{Name: "code", Type: schema.String, Unique: true, Auto: true},
				{Name: "authenticated_userid", Type: schema.String},
				{Name: "scope", Type: schema.String},
				{Name: "challenge", Type: schema.String},
				{Name: "challenge_method", Type: schema.String, OneOf: store.OneOf("S256")},
				store.ForeignField("plugin", "plugins", false, "cascade"),
			},
		},
		Generate: func(rec map[string]any) {
			if rec["code"] == nil {
				rec["code"] = store.RandomToken()
			}
		},
	}
}

// Tokens declares the access tokens (Kong's oauth2_tokens), listed at
// /oauth2_tokens, found by access_token, each living refresh_token_ttl
// seconds when the plugin gives it a ttl.
func Tokens() *store.Entity {
	return &store.Entity{
		Name: TokenEntity, Path: TokenEntity, EndpointKey: "access_token", TTL: true,
		KongCacheKey: []string{"access_token"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ForeignField("service", "services", false, "cascade"),
				store.ForeignField("credential", CredentialEntity, true, "cascade"),
				{Name: "token_type", Type: schema.String, Required: true, Default: "bearer", OneOf: store.OneOf("bearer")},
				{Name: "expires_in", Type: schema.Integer, Required: true},
				{Name: "access_token", Type: schema.String, Unique: true, Auto: true},
				{Name: "refresh_token", Type: schema.String, Unique: true},
				{Name: "authenticated_userid", Type: schema.String},
				{Name: "scope", Type: schema.String},
			},
		},
		Generate: func(rec map[string]any) {
			if rec["access_token"] == nil {
				rec["access_token"] = store.RandomToken()
			}
		},
	}
}
