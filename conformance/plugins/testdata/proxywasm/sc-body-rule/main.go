// Command sc-body-rule is the body-rule scenario as a proxy-wasm filter
// (standard Go on sdk/proxywasm): a request body containing the
// forbidden string is refused with 400.
package main

import (
	"bytes"
	"encoding/json"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
)

var cfg struct {
	Forbidden string `json:"forbidden"`
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	return pw.ActionContinue
}

//go:wasmexport proxy_on_request_body
func onRequestBody(id, size, eos uint32) uint32 {
	pw.Release()
	body, _ := pw.Buffer(pw.RequestBody, 0, size)
	if cfg.Forbidden != "" && bytes.Contains(body, []byte(cfg.Forbidden)) {
		pw.SendLocalResponse(400, []byte(`{"message":"forbidden content"}`),
			[][2]string{{"Content-Type", "application/json; charset=utf-8"}})
		return pw.ActionPause
	}
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
