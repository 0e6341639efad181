// Package keyauth is Gatehouse's native key-auth plugin, compatible with
// Kong 3.9's: clients authenticate with an API key sent in a header, a
// query argument or the body; the key is looked up among the
// keyauth_credentials and the request is identified as the credential's
// consumer. See README.md for the configuration.
package keyauth

import (
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/ngxargs"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/authn"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "key-auth"
	Priority = 1250
	Version  = plugin.BundledVersion
)

// Kong 3.9's key-auth response messages.
const (
	msgDuplicateKey = "Duplicate API key found"
	msgNoKey        = "No API key found in request"
	msgInvalidCred  = "Unauthorized"
)

// definition is the plugin as registered; its schema is the one every
// configuration is decoded against.
var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
	Entities: []*store.Entity{Credentials()},
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	KeyNames        []string `config:"key_names"`
	HideCredentials bool     `config:"hide_credentials"`
	// Anonymous is a consumer id or username; "" when unset.
	Anonymous      string `config:"anonymous"`
	KeyInHeader    bool   `config:"key_in_header"`
	KeyInQuery     bool   `config:"key_in_query"`
	KeyInBody      bool   `config:"key_in_body"`
	RunOnPreflight bool   `config:"run_on_preflight"`
	// Realm is "" when unset.
	Realm string `config:"realm"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults. Values of the wrong type are an error.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// Plugin is one configured key-auth instance. It holds no per-request
// state and is safe for concurrent use.
type Plugin struct {
	conf  Config
	flow  authn.Flow
	names []keyName
}

// keyName is a key name with its header lookup names precomputed.
type keyName struct {
	name string
	// header is the lower-cased name; alt the name with '_' turned into
	// '-' (nginx's header table finds "api-key" for "api_key"), or "".
	header, alt string
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c, flow: authn.Flow{Plugin: Name, Entity: CredentialEntity, Field: "key",
		IdentifierField: "id", Anonymous: c.Anonymous, Challenge: "Key"}}
	if c.Realm != "" {
		p.flow.Challenge = `Key realm="` + c.Realm + `"`
	}
	for _, n := range c.KeyNames {
		kn := keyName{name: n, header: strings.ToLower(n)}
		if strings.Contains(kn.header, "_") {
			kn.alt = strings.ReplaceAll(kn.header, "_", "-")
		}
		p.names = append(p.names, kn)
	}
	return p
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	if !p.conf.RunOnPreflight && k.Request().Method() == "OPTIONS" {
		return nil
	}
	return p.flow.Access(k, p.check)
}

// headerValue returns the first value of a header and how many values
// the request has for it. With a host that peeks (hostabi.HeaderPeeker)
// the value is a view of the request's buffer, valid until this handler
// returns and not copied: the key is only compared and looked up
// (hostabi.Credentials copies what it keeps), never kept by the plugin.
func headerValue(req hostabi.Request, name string) (string, int) {
	if p, ok := req.(hostabi.HeaderPeeker); ok {
		b, n := p.PeekHeader(name)
		return unsafe.String(unsafe.SliceData(b), len(b)), n
	}
	vs := req.HeaderValues(name)
	if len(vs) == 0 {
		return "", 0
	}
	return vs[0], len(vs)
}

// check finds the key and its credential (authn.Check).
func (p *Plugin) check(k hostabi.Kong) (hostabi.Entity, *authn.Failure, error) {
	req := k.Request()
	var body map[string]any
	var bodyMime string
	bodyLoaded, bodyOK := false, false
	loadBody := func() {
		if bodyLoaded {
			return
		}
		bodyLoaded = true
		b, mt, err := req.Body()
		if err != nil {
			k.Log().Info("Cannot process request body: " + err.Error())
			return
		}
		body, bodyMime, bodyOK = b, mt, true
	}

	key := ""
	found := false
	for _, kn := range p.names {
		var val any // string, or a multi-valued marker
		if p.conf.KeyInHeader {
			v, n := headerValue(req, kn.header)
			if n == 0 && kn.alt != "" {
				v, n = headerValue(req, kn.alt)
			}
			if n == 1 {
				val = v
			} else if n > 1 {
				val = duplicate{}
			}
		}
		if val == nil && p.conf.KeyInQuery {
			switch v, st := queryValue(req.RawQuery(), kn.name); st {
			case argValue:
				val = v
			case argDuplicate:
				val = duplicate{}
			}
		}
		if val == nil && p.conf.KeyInBody {
			loadBody()
			if bodyOK {
				switch t := body[kn.name].(type) {
				case string:
					val = t
				case []any, map[string]any:
					val = duplicate{}
				}
			}
		}
		switch t := val.(type) {
		case string:
			key, found = t, true
			if p.conf.HideCredentials {
				if q, removed := ngxargs.Without(req.RawQuery(), kn.name); removed {
					k.ServiceRequest().SetRawQuery(q)
				}
				k.ServiceRequest().ClearHeader(kn.name)
				if p.conf.KeyInBody {
					loadBody()
					if bodyOK {
						delete(body, kn.name)
						if err := k.ServiceRequest().SetBody(body, bodyMime); err != nil {
							k.Log().Err("key-auth: cannot rewrite request body", "error", err)
						}
					}
				}
			}
		case duplicate:
			return nil, &authn.Failure{Status: 401, Message: msgDuplicateKey}, nil
		}
		if found {
			break
		}
	}
	if key == "" {
		return nil, &authn.Failure{Status: 401, Message: msgNoKey}, nil
	}

	cred, err := p.flow.Credential(k, key)
	if err != nil {
		return nil, nil, err
	}
	if cred == nil || expired(cred) {
		return nil, &authn.Failure{Status: 401, Message: msgInvalidCred}, nil
	}
	return cred, nil, nil
}

// duplicate marks a key given more than once (a Lua table in Kong).
type duplicate struct{}

// expired reports a credential whose ttl ran out (Kong: cred.ttl == 0).
func expired(cred hostabi.Entity) bool {
	switch t := cred["ttl"].(type) {
	case int64:
		return t == 0
	case int:
		return t == 0
	case float64:
		return t == 0
	}
	return false
}

// The states of a query argument (queryValue).
const (
	argAbsent    = iota // absent, or given without "="
	argValue            // given once, with a value
	argDuplicate        // given more than once
)

// queryValue returns a query argument as nginx's get_uri_args sees it: its
// value and argValue; argDuplicate when given more than once; argAbsent
// when absent or given last without "=" (a boolean in Kong, which key-auth
// skips). It walks the arguments as ngxargs.All does, without the
// iterator's closure, and returns no interface, so that a request does
// not allocate; ngxargs.Unescape returns its argument when there is
// nothing to decode.
func queryValue(raw, name string) (string, int) {
	val, state, n := "", argAbsent, 0
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, hasValue := strings.Cut(part, "=")
		if ngxargs.Unescape(k) != name {
			continue
		}
		n++
		if hasValue {
			val, state = ngxargs.Unescape(v), argValue
		} else {
			val, state = "", argAbsent
		}
	}
	if n > 1 {
		return "", argDuplicate
	}
	return val, state
}

var _ hostabi.Accessor = (*Plugin)(nil)
