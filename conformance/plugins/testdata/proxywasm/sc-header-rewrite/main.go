// Command sc-header-rewrite is the header-rewrite scenario as a
// proxy-wasm filter (standard Go on sdk/proxywasm): it sets a header
// upstream, drops another and marks the response.
package main

import (
	"encoding/json"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
)

var cfg struct {
	Header string `json:"header"`
	Value  string `json:"value"`
	Drop   string `json:"drop"`
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	pw.ReplaceHeader(pw.RequestHeaders, cfg.Header, cfg.Value)
	if cfg.Drop != "" {
		pw.RemoveHeader(pw.RequestHeaders, cfg.Drop)
	}
	return pw.ActionContinue
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	pw.ReplaceHeader(pw.ResponseHeaders, "X-Scenario", "header-rewrite")
	return pw.ActionContinue
}

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) { pw.Release() }

//go:wasmexport proxy_on_vm_start
func onVMStart(id, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func onConfigure(id, size uint32) uint32 {
	pw.Release()
	b, st := pw.Buffer(pw.PluginConfiguration, 0, size)
	if st != pw.StatusOK || json.Unmarshal(b, &cfg) != nil {
		pw.Log(pw.LogError, "bad configuration: "+string(b))
		return 0
	}
	return 1
}

//go:wasmexport proxy_on_done
func onDone(id uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func onDelete(id uint32) { pw.Release() }

func main() {}
