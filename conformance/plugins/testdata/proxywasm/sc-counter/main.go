// Command sc-counter is the counter scenario as a proxy-wasm filter
// (standard Go on sdk/proxywasm): each user's requests (a header names
// the user) are counted in the node's shared data (compare-and-swap) and
// the response reports the count.
package main

import (
	"encoding/json"
	"strconv"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
)

var cfg struct {
	Header string `json:"header"`
}

// counts holds each request's count by HTTP context id, set in
// proxy_on_request_headers, reported in proxy_on_response_headers and
// dropped in proxy_on_delete.
var counts = map[uint32]int{}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	user, _ := pw.Header(pw.RequestHeaders, cfg.Header)
	key := "sc-counter:" + user
	for {
		v, cas, _ := pw.SharedData(key)
		c, _ := strconv.Atoi(string(v))
		if pw.SetSharedData(key, []byte(strconv.Itoa(c+1)), cas) == pw.StatusOK {
			counts[id] = c + 1
			return pw.ActionContinue
		}
	}
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	pw.ReplaceHeader(pw.ResponseHeaders, "X-Count", strconv.Itoa(counts[id]))
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
func onDelete(id uint32) {
	pw.Release()
	delete(counts, id)
}

func main() {}
