package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Provide returns the plugin as a native Gatehouse plugin named name: the
// definition (version, priority, phases, and the schema a Wasm host
// builds from describe) and a factory whose instances run the handlers on
// the hostabi.Kong the node or sdk/plugintest gives them. It is how plugin
// code is tested natively, without compiling it to Wasm; the error is
// that of Describe.
func (p Plugin[C]) Provide(name string) (hostabi.ProvidedPlugin, error) {
	d, err := p.Describe()
	if err != nil {
		return hostabi.ProvidedPlugin{}, err
	}
	return hostabi.ProvidedPlugin{
		Definition: hostabi.Definition{Name: name, Version: d.Version, Priority: d.Priority,
			Phases: p.phases(), Schema: PluginSchema(d)},
		Factory: factory[C]{p: &p},
	}, nil
}

// PluginSchema wraps a description's configuration record into Kong's
// plugin schema, as `GET /schemas/plugins/{name}` shows it: the consumer
// restriction, the protocols (when the plugin narrows them) and config.
func PluginSchema(d *Description) map[string]any {
	var fields []any
	if d.NoConsumer {
		fields = append(fields, map[string]any{"consumer": map[string]any{"type": "foreign", "reference": "consumers", "eq": nil}})
	}
	if len(d.Protocols) > 0 {
		ps := make([]any, len(d.Protocols))
		for i, p := range d.Protocols {
			ps[i] = p
		}
		fields = append(fields, map[string]any{"protocols": map[string]any{"type": "set", "required": true,
			"default": ps, "elements": map[string]any{"type": "string", "one_of": ps}}})
	}
	fields = append(fields, map[string]any{"config": d.Config})
	return map[string]any{"fields": fields}
}

// factory makes native instances of a Plugin.
type factory[C any] struct{ p *Plugin[C] }

func (f factory[C]) decode(config map[string]any) (*C, error) {
	b, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return f.p.Decode(b)
}

// Validate implements hostabi.Validator: the SDK's rules and the plugin's
// Validate.
func (f factory[C]) Validate(config map[string]any) error {
	_, err := f.decode(config)
	return err
}

// New implements hostabi.Factory. The instance implements exactly the
// response-buffering phases the plugin has (response, body_filter), so a
// plugin without them does not make the proxy buffer; rewrite, access,
// header_filter and log are always present and do nothing when unset.
func (f factory[C]) New(config map[string]any) (any, error) {
	c, err := f.decode(config)
	if err != nil {
		return nil, err
	}
	b := &nativeBase[C]{in: &instance[C]{p: f.p, cfg: c}}
	switch {
	case f.p.Response != nil && f.p.BodyFilter != nil:
		return nativeResponseBody[C]{b}, nil
	case f.p.Response != nil:
		return nativeResponse[C]{b}, nil
	case f.p.BodyFilter != nil:
		return nativeBody[C]{b}, nil
	}
	return b, nil
}

// nativeBase runs the phases every native instance has.
type nativeBase[C any] struct{ in *instance[C] }

func (n *nativeBase[C]) Rewrite(k hostabi.Kong) error {
	return n.in.run(hostabi.PhaseRewrite, k)
}
func (n *nativeBase[C]) Access(k hostabi.Kong) error { return n.in.run(hostabi.PhaseAccess, k) }
func (n *nativeBase[C]) HeaderFilter(k hostabi.Kong) error {
	return n.in.run(hostabi.PhaseHeaderFilter, k)
}
func (n *nativeBase[C]) Log(k hostabi.Kong) error { return n.in.run(hostabi.PhaseLog, k) }

type nativeResponse[C any] struct{ *nativeBase[C] }

func (n nativeResponse[C]) Response(k hostabi.Kong) error {
	return n.in.run(hostabi.PhaseResponse, k)
}

type nativeBody[C any] struct{ *nativeBase[C] }

func (n nativeBody[C]) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	return n.in.bodyFilter(k, chunk, eof)
}

type nativeResponseBody[C any] struct{ *nativeBase[C] }

func (n nativeResponseBody[C]) Response(k hostabi.Kong) error {
	return n.in.run(hostabi.PhaseResponse, k)
}

func (n nativeResponseBody[C]) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	return n.in.bodyFilter(k, chunk, eof)
}
