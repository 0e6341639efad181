// Command bench is the proxy-wasm hook round trip of the benchmark, the
// same work as plugins-wasm/gatehouse/testdata/bench, on
// sdk/proxywasm/filter: on_http_request_headers reads two request headers
// and sets one.
package main

import (
	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

type root struct{ filter.DefaultRootContext }

type request struct{ filter.DefaultHTTPContext }

func init() {
	filter.SetRootContext(func(uint32) filter.RootContext { return &root{} })
}

func main() {}

func (*root) NewHTTPContext(uint32) filter.HTTPContext { return &request{} }

func (*request) OnHTTPRequestHeaders(int, bool) filter.Action {
	a, _ := pw.Header(pw.RequestHeaders, "x-a")
	pw.Header(pw.RequestHeaders, "x-b")
	pw.ReplaceHeader(pw.RequestHeaders, "x-c", a)
	return filter.Continue
}
