package wasmhost

import (
	"context"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Flavour is one guest ABI on the shared runtime: the Gatehouse ABI
// (plugins-wasm/gatehouse), http-wasm (plugins-wasm/httpwasm), later
// proxy-wasm. A flavour brings its import module (DefineHostModule, when
// it first loads a module), recognises its modules, and turns one into a
// plugin whose factory builds a Pool per configuration, pins each request
// to an instance (Pool.Pin) and runs exports with Instance.Call, so that
// compilation, limits, pooling and the fail-closed faults are the
// runtime's.
type Flavour interface {
	// Name names the flavour ("gatehouse", "http-wasm").
	Name() string
	// Claims reports whether a compiled module is this flavour's, by its
	// exports and imports.
	Claims(m *Module) bool
	// Plugin loads a module the flavour claims: its definition (name =
	// m.Name) and factory. Errors name the module's file.
	Plugin(ctx context.Context, m *Module) (hostabi.ProvidedPlugin, error)
}
