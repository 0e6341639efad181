package app

import (
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/store"
)

// WasmState returns the node's proxy-wasm support as cfg sets it: nil when
// `wasm` is off, otherwise the filters of wasm_filters_path that
// wasm_filters enables. A filter's metadata file that cannot be read
// fails the start, as it fails Kong's.
func WasmState(cfg *config.Config) (*store.WasmState, error) {
	if !cfg.Wasm {
		return nil, nil
	}
	found, err := store.DiscoverWasmFilters(cfg.WasmFiltersPath)
	if err != nil {
		return nil, err
	}
	w := &store.WasmState{Enabled: true}
	for _, f := range found {
		if cfg.WasmFilterEnabled(f.Name) {
			w.Filters = append(w.Filters, f)
		}
	}
	return w, nil
}
