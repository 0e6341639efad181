package appreg

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: the union of Kong
// Gateway 3.x's (display_name, description, auto_approve, show_issuer,
// enable_proxy_with_consumer_credential) and Kong EE 1.x's, which adds
// the oauth2 plugin's fields (scopes ... refresh_token_ttl) and which the
// IAM training's §9.3.2 call sends. The plugin is scoped to services
// only: not to a route nor a consumer.
func Schema() *store.PluginSchema {
	boolean := func(name, desc string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Required: true, Default: false, Description: desc}
	}
	cfg := &schema.Schema{Fields: []*schema.Field{
		{Name: "display_name", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 256,
			Description: "Unique display name used for a Service in the Developer Portal."},
		{Name: "description", Type: schema.String, Unique: true, LenMax: 4096,
			Description: "Unique description displayed in information about a Service in the Developer Portal."},
		boolean("auto_approve", "If enabled, all new Service Contracts requests are automatically approved."),
		boolean("show_issuer", "Displays the Issuer URL in the Service Details dialog."),
		boolean("enable_proxy_with_consumer_credential", "Lets a proxy consumer's own credential through, not only applications'."),
		{Name: "scopes", Type: schema.Array, Elements: &schema.Field{Type: schema.String},
			Description: "Legacy (1.x): the scope names available to the end user."},
		boolean("mandatory_scope", "Legacy (1.x): require at least one scope."),
		{Name: "provision_key", Type: schema.String, Unique: true, Auto: true, Encrypted: true,
			Description: "Legacy (1.x): the provision key of the authorization endpoints, generated."},
		{Name: "token_expiration", Type: schema.Number, Required: true, Default: float64(7200),
			Description: "Legacy (1.x): how many seconds a token lasts; 0 never expires."},
		boolean("enable_authorization_code", "Legacy (1.x): the Authorization Code flow."),
		boolean("enable_implicit_grant", "Legacy (1.x): the Implicit Grant flow."),
		boolean("enable_client_credentials", "Legacy (1.x): the Client Credentials flow."),
		boolean("enable_password_grant", "Legacy (1.x): the Resource Owner Password Credentials flow."),
		{Name: "auth_header_name", Type: schema.String, Default: "authorization",
			Description: "Legacy (1.x): the header carrying the access token."},
		{Name: "refresh_token_ttl", Type: schema.Number, Required: true, Default: float64(1209600),
			Between: schema.Range(0, store.MaxTTL), Description: "Legacy (1.x): the refresh tokens' time to live."},
	}}
	cfg.AddEntityChecks("",
		schema.EntityCheck{Conditional: &schema.ConditionalCheck{IfField: "mandatory_scope",
			IfMatch: &schema.Field{Eq: true}, ThenField: "scopes", ThenMatch: &schema.Field{Required: true}}},
	)
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols,
		NoConsumer:    true,
		NoRoute:       true,
		Config:        cfg,
	}
}
