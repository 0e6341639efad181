// Command sc-api-key is the api-key scenario as a proxy-wasm filter
// (standard Go on sdk/proxywasm): a header must hold one of the
// configured keys; the upstream learns which one (1-based).
package main

import (
	"encoding/json"
	"strconv"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
)

var cfg struct {
	Keys   []string `json:"keys"`
	Header string   `json:"header"`
}

var jsonHeaders = [][2]string{{"Content-Type", "application/json; charset=utf-8"}}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	got, st := pw.Header(pw.RequestHeaders, cfg.Header)
	if st != pw.StatusOK {
		pw.SendLocalResponse(401, []byte(`{"message":"No API key found in request"}`), jsonHeaders)
		return pw.ActionPause
	}
	for i, k := range cfg.Keys {
		if k == got {
			pw.ReplaceHeader(pw.RequestHeaders, "X-Key-Index", strconv.Itoa(i+1))
			return pw.ActionContinue
		}
	}
	pw.SendLocalResponse(403, []byte(`{"message":"Invalid API key"}`), jsonHeaders)
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
