// Package appreg is Gatehouse's application-registration plugin (Kong
// Enterprise's): on a service, it lets through only the Developer
// Portal's applications approved for that service. With the legacy
// (Kong EE 1.x) configuration the training uses, one enable_* flow on, it
// also serves the oauth2 endpoints under the route's paths and
// authenticates bearer tokens, through an embedded runtime/plugins/oauth2
// instance built from the same configuration; with the 3.x
// configuration an authentication plugin on the service (oauth2,
// key-auth) identifies the application's consumer first. See README.md.
package appreg

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/acl"
	"github.com/gatehouse/gatehouse/runtime/plugins/oauth2"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin. The priority is the 1.x
// plugin's (1007): below every authentication plugin (oauth2 1400,
// key-auth 1250), so the 3.x mode's consumer is known when it runs, and
// above acl (950).
const (
	Name     = "application-registration"
	Priority = 1007
	Version  = plugin.BundledVersion
)

// MsgUnauthorized is the plain-text body of the 401 a consumer that is no
// application gets.
const MsgUnauthorized = "Unauthorized"

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration: the 3.x fields and the
// legacy (oauth2) ones.
type Config struct {
	DisplayName                       string `config:"display_name"`
	Description                       string `config:"description"`
	AutoApprove                       bool   `config:"auto_approve"`
	ShowIssuer                        bool   `config:"show_issuer"`
	EnableProxyWithConsumerCredential bool   `config:"enable_proxy_with_consumer_credential"`

	Scopes                  []string `config:"scopes"`
	MandatoryScope          bool     `config:"mandatory_scope"`
	ProvisionKey            string   `config:"provision_key"`
	TokenExpiration         float64  `config:"token_expiration"`
	EnableAuthorizationCode bool     `config:"enable_authorization_code"`
	EnableImplicitGrant     bool     `config:"enable_implicit_grant"`
	EnableClientCredentials bool     `config:"enable_client_credentials"`
	EnablePasswordGrant     bool     `config:"enable_password_grant"`
	AuthHeaderName          string   `config:"auth_header_name"`
	RefreshTokenTTL         float64  `config:"refresh_token_ttl"`
}

// Legacy reports whether the configuration is the 1.x one: an oauth2
// flow is enabled, so the plugin authenticates by itself.
func (c Config) Legacy() bool {
	return c.EnableAuthorizationCode || c.EnableImplicitGrant || c.EnableClientCredentials || c.EnablePasswordGrant
}

// OAuth2Config is the configuration of the embedded oauth2 instance of
// the legacy mode: the oauth2 fields, with Kong 1.x's fixed values for
// the others (no anonymous, no global credentials, HTTPS required,
// credentials shown, PKCE lax).
func (c Config) OAuth2Config() oauth2.Config {
	return oauth2.Config{
		Scopes:                  c.Scopes,
		MandatoryScope:          c.MandatoryScope,
		ProvisionKey:            c.ProvisionKey,
		TokenExpiration:         c.TokenExpiration,
		EnableAuthorizationCode: c.EnableAuthorizationCode,
		EnableImplicitGrant:     c.EnableImplicitGrant,
		EnableClientCredentials: c.EnableClientCredentials,
		EnablePasswordGrant:     c.EnablePasswordGrant,
		AuthHeaderName:          c.AuthHeaderName,
		RefreshTokenTTL:         c.RefreshTokenTTL,
		PKCE:                    "lax",
	}
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// Plugin is one configured instance, safe for concurrent use.
type Plugin struct {
	conf Config
	// oauth is the embedded oauth2 instance of the legacy mode; nil in
	// the 3.x mode.
	oauth *oauth2.Plugin
	// ids keeps the registrations' composite_ids, so a request does not
	// build (allocate) its lookup key.
	ids compositeIDs
}

// maxCompositeIDs bounds compositeIDs: past it, the memo starts over.
const maxCompositeIDs = 16384

// compositeIDs memoizes store.CompositeID by application id: a service's
// requests come from a bounded set of applications.
type compositeIDs struct {
	m sync.Map // application id -> *compositeEntry
	n atomic.Int64
}

type compositeEntry struct{ svc, id string }

// get returns store.CompositeID(appID, svcID).
func (c *compositeIDs) get(appID, svcID string) string {
	if v, ok := c.m.Load(appID); ok {
		if e := v.(*compositeEntry); e.svc == svcID {
			return e.id
		}
	}
	id := store.CompositeID(appID, svcID)
	if c.n.Add(1) > maxCompositeIDs {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(strings.Clone(appID), &compositeEntry{svc: strings.Clone(svcID), id: id})
	return id
}

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c}
	if c.Legacy() {
		p.oauth = oauth2.NewPlugin(c.OAuth2Config())
	}
	return p
}

// Access implements hostabi.Accessor: in the legacy mode the oauth2
// endpoints and token authentication first; then the consumer must be a
// Developer Portal application (401 Unauthorized otherwise) with an
// approved, unsuspended registration to this service (403 otherwise).
func (p *Plugin) Access(k hostabi.Kong) error {
	if p.oauth != nil {
		if err := p.oauth.Access(k); err != nil {
			return fmt.Errorf("%s: %w", Name, err)
		}
		if k.Response().Exited() {
			return nil
		}
	}
	consumer := k.Client().Consumer()
	cid, _ := consumer["id"].(string)
	if cid == "" {
		k.Response().Exit(401, []byte(MsgUnauthorized), map[string]string{"Content-Type": "text/plain; charset=utf-8"})
		return nil
	}
	apps, err := k.Credentials().ConsumerCredentials(k.Context(), store.ApplicationEntity, cid)
	if err != nil {
		return fmt.Errorf("%s: loading the consumer's application: %w", Name, err)
	}
	if len(apps) == 0 {
		if p.conf.EnableProxyWithConsumerCredential {
			return nil
		}
		k.Response().Exit(401, []byte(MsgUnauthorized), map[string]string{"Content-Type": "text/plain; charset=utf-8"})
		return nil
	}
	svcID, _ := k.Router().Service()["id"].(string)
	appID, _ := apps[0]["id"].(string)
	inst, err := k.Credentials().Credential(k.Context(), store.ApplicationInstanceEntity, "composite_id",
		p.ids.get(appID, svcID))
	if err != nil {
		return fmt.Errorf("%s: loading the application's registration: %w", Name, err)
	}
	if svcID == "" || !store.InstanceAllows(inst) {
		hostabi.JSONExit(k.Response(), 403, map[string]any{"message": acl.MsgForbidden}, nil)
		return nil
	}
	k.ServiceRequest().SetHeader(acl.HeaderConsumerGroups, svcID)
	return nil
}
