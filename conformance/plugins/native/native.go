// Package native is the native Go runtime's version of the scenario
// plugins of conformance/plugins: each scenario's behaviour written
// against hostabi directly.
package native

import (
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Priority of every scenario plugin.
const Priority = 1000

func str(name string, required bool) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Required: required}
}

func def(name string, fields []*schema.Field, phases []hostabi.Phase, build func(map[string]any) (any, error)) *plugin.Definition {
	return &plugin.Definition{Name: name, Version: "1.0.0", Priority: Priority, Phases: phases,
		Schema: &store.PluginSchema{Name: name, OnlyProtocols: store.HTTPProtocols, Config: &schema.Schema{Fields: fields}},
		New:    build}
}

func s(c map[string]any, k string) string { v, _ := c[k].(string); return v }

// Definitions returns the scenario plugins.
func Definitions() []*plugin.Definition {
	access := []hostabi.Phase{hostabi.PhaseAccess}
	return []*plugin.Definition{
		def("sc-header-rewrite", []*schema.Field{str("header", true), str("value", true), str("drop", false)},
			[]hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter},
			func(c map[string]any) (any, error) {
				return headerRewrite{s(c, "header"), s(c, "value"), s(c, "drop")}, nil
			}),
		def("sc-api-key", []*schema.Field{
			{Name: "keys", Type: schema.Array, Required: true, Elements: &schema.Field{Type: schema.String}},
			{Name: "header", Type: schema.String, Default: "x-api-key"}}, access,
			func(c map[string]any) (any, error) {
				var keys []string
				for _, k := range c["keys"].([]any) {
					keys = append(keys, k.(string))
				}
				return apiKey{keys: keys, header: s(c, "header")}, nil
			}),
		def("sc-body-rule", []*schema.Field{str("forbidden", true)}, access,
			func(c map[string]any) (any, error) { return bodyRule{s(c, "forbidden")}, nil }),
		def("sc-counter", []*schema.Field{{Name: "header", Type: schema.String, Default: "x-user"}}, access,
			func(c map[string]any) (any, error) { return counter{s(c, "header")}, nil }),
		def("sc-exit", []*schema.Field{
			{Name: "status", Type: schema.Integer, Required: true},
			str("body", true), {Name: "content_type", Type: schema.String, Default: "text/plain"}}, access,
			func(c map[string]any) (any, error) {
				return exit{status: int(c["status"].(int64)), body: s(c, "body"), contentType: s(c, "content_type")}, nil
			}),
		def("sc-consumer-auth", []*schema.Field{{Name: "header", Type: schema.String, Default: "x-user"}}, access,
			func(c map[string]any) (any, error) { return consumerAuth{s(c, "header")}, nil }),
	}
}

// headerRewrite sets a header upstream, drops another, and marks the
// response.
type headerRewrite struct{ header, value, drop string }

func (p headerRewrite) Access(k hostabi.Kong) error {
	k.ServiceRequest().SetHeader(p.header, p.value)
	if p.drop != "" {
		k.ServiceRequest().ClearHeader(p.drop)
	}
	return nil
}

func (p headerRewrite) HeaderFilter(k hostabi.Kong) error {
	k.Response().SetHeader("X-Scenario", "header-rewrite")
	return nil
}

// apiKey checks a header against the configured keys.
type apiKey struct {
	keys   []string
	header string
}

func (p apiKey) Access(k hostabi.Kong) error {
	got := k.Request().Header(p.header)
	if got == "" {
		hostabi.JSONExit(k.Response(), 401, map[string]string{"message": "No API key found in request"}, nil)
		return nil
	}
	for i, key := range p.keys {
		if key == got {
			k.ServiceRequest().SetHeader("X-Key-Index", strconv.Itoa(i+1))
			return nil
		}
	}
	hostabi.JSONExit(k.Response(), 403, map[string]string{"message": "Invalid API key"}, nil)
	return nil
}

// bodyRule refuses bodies containing a forbidden string.
type bodyRule struct{ forbidden string }

func (p bodyRule) Access(k hostabi.Kong) error {
	body, err := k.Request().RawBody()
	if err != nil {
		return err
	}
	if strings.Contains(string(body), p.forbidden) {
		hostabi.JSONExit(k.Response(), 400, map[string]string{"message": "forbidden content"}, nil)
	}
	return nil
}

// counter counts the requests of each user (a header) in the node's
// shared cache and reports the count.
type counter struct{ header string }

func (p counter) Access(k hostabi.Kong) error {
	key := "sc-counter:" + k.Request().Header(p.header)
	n := int64(0)
	if v, ok := k.Cache().Get(key); ok {
		n, _ = v.(int64)
	}
	n++
	k.Cache().Set(key, n, 0)
	k.Response().SetHeader("X-Count", strconv.FormatInt(n, 10))
	return nil
}

// exit answers every request itself.
type exit struct {
	status            int
	body, contentType string
}

func (p exit) Access(k hostabi.Kong) error {
	k.Response().Exit(p.status, []byte(p.body), map[string]string{"Content-Type": p.contentType, "X-Scenario": "exit"})
	return nil
}

// consumerAuth authenticates the consumer a header names.
type consumerAuth struct{ header string }

func (p consumerAuth) Access(k hostabi.Kong) error {
	name := k.Request().Header(p.header)
	var c hostabi.Entity
	if name != "" {
		var err error
		if c, err = k.Client().LoadConsumer(k.Context(), name, true); err != nil {
			return err
		}
	}
	if c == nil {
		hostabi.JSONExit(k.Response(), 401, map[string]string{"message": "Unauthorized"}, nil)
		return nil
	}
	k.Client().Authenticate(c, nil)
	username, _ := c["username"].(string)
	customID, _ := c["custom_id"].(string)
	k.ServiceRequest().SetHeader("X-Consumer-Username", username)
	k.ServiceRequest().SetHeader("X-Consumer-Custom-Id", customID)
	return nil
}
