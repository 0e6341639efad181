package plugintest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
)

// ProvidedSchema reads the configuration schema of a plugin a provider
// offers (a Wasm module, a Lua plugin folder, an SDK plugin's Provide):
// the Kong schema JSON of its definition, as the node reads it.
func ProvidedSchema(pp hostabi.ProvidedPlugin) (*store.PluginSchema, error) {
	b, err := json.Marshal(pp.Definition.Schema)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: schema: %w", pp.Definition.Name, err)
	}
	return store.PluginSchemaFromJSON(pp.Definition.Name, b)
}

// NewProvided creates an instance of a provided plugin the way the node
// does: input goes through the definition's schema (coercion, defaults,
// checks, as Config), then through the factory's Validate when it has
// one, then to its New. An invalid configuration or a factory error fails
// the test; an instance that implements hostabi.Closer is closed when the
// test ends. Run its phases with Run or Env.Run; a chain of plugins with
// Env.RunChain.
func NewProvided(t testing.TB, pp hostabi.ProvidedPlugin, input map[string]any) any {
	t.Helper()
	inst, err := TryProvided(pp, input)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := inst.(hostabi.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return inst
}

// TryProvided is NewProvided without a test: it returns the error of the
// schema, the validation or the factory, for testing a plugin's
// refusals. The caller closes an instance that implements
// hostabi.Closer.
func TryProvided(pp hostabi.ProvidedPlugin, input map[string]any) (any, error) {
	name := pp.Definition.Name
	ps, err := ProvidedSchema(pp)
	if err != nil {
		return nil, err
	}
	cfg, errs := ValidateConfig(ps, input)
	if !errs.Empty() {
		return nil, fmt.Errorf("invalid %s configuration: %v", name, errs.Flatten())
	}
	if v, ok := pp.Factory.(hostabi.Validator); ok {
		if err := v.Validate(cfg); err != nil {
			return nil, fmt.Errorf("%s: invalid configuration: %w", name, err)
		}
	}
	inst, err := pp.Factory.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: New: %w", name, err)
	}
	return inst, nil
}
