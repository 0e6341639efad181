// Command sc-exit is the exit scenario as a proxy-wasm filter (standard
// Go on sdk/proxywasm): it answers every request itself.
package main

import (
	"encoding/json"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
)

var cfg struct {
	Status      uint32 `json:"status"`
	Body        string `json:"body"`
	ContentType string `json:"content_type"`
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	pw.SendLocalResponse(cfg.Status, []byte(cfg.Body),
		[][2]string{{"Content-Type", cfg.ContentType}, {"X-Scenario", "exit"}})
	return pw.ActionPause
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
