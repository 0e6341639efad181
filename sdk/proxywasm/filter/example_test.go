package filter_test

import (
	"strings"

	"github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

// addHeader is a filter's root context: it keeps the configuration
// ("Name:value") and creates each request's context.
type addHeader struct {
	filter.DefaultRootContext
	name, value string
}

func (r *addHeader) OnPluginStart(config []byte) bool {
	name, value, ok := strings.Cut(string(config), ":")
	if !ok || name == "" {
		proxywasm.Log(proxywasm.LogError, "want Name:value, got "+string(config))
		return false // the configuration is refused
	}
	r.name, r.value = name, value
	return true
}

func (r *addHeader) NewHTTPContext(uint32) filter.HTTPContext { return &addHeaderRequest{root: r} }

// addHeaderRequest is a request's context.
type addHeaderRequest struct {
	filter.DefaultHTTPContext
	root *addHeader
}

func (q *addHeaderRequest) OnHTTPRequestHeaders(int, bool) filter.Action {
	if _, st := proxywasm.Header(proxywasm.RequestHeaders, "x-deny"); st == proxywasm.StatusOK {
		proxywasm.SendLocalResponse(403, []byte("denied\n"), [][2]string{{"content-type", "text/plain"}})
		return filter.Pause
	}
	proxywasm.AddHeader(proxywasm.RequestHeaders, q.root.name, q.root.value)
	return filter.Continue
}

// A whole filter: the root context reads its configuration, each
// request's context adds a header or refuses the request. In a filter the
// registration is in init of package main (whose main is empty); build it
// with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
func Example() {
	filter.SetRootContext(func(uint32) filter.RootContext { return &addHeader{} })
}
