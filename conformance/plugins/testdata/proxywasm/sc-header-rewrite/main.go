// Command sc-header-rewrite is the header-rewrite scenario as a
// proxy-wasm filter (standard Go on sdk/proxywasm/filter): it sets a
// header upstream, drops another and marks the response.
package main

import (
	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

type root struct {
	filter.DefaultRootContext
	Header string `json:"header"`
	Value  string `json:"value"`
	Drop   string `json:"drop"`
}

type request struct {
	filter.DefaultHTTPContext
	*root
}

func init() { filter.SetRootContext(func(uint32) filter.RootContext { return &root{} }) }

func main() {}

func (r *root) OnPluginStart(b []byte) bool { return filter.JSONConfig(b, r) }

func (r *root) NewHTTPContext(uint32) filter.HTTPContext { return &request{root: r} }

func (q *request) OnHTTPRequestHeaders(int, bool) filter.Action {
	pw.ReplaceHeader(pw.RequestHeaders, q.Header, q.Value)
	if q.Drop != "" {
		pw.RemoveHeader(pw.RequestHeaders, q.Drop)
	}
	return filter.Continue
}

func (q *request) OnHTTPResponseHeaders(int, bool) filter.Action {
	pw.ReplaceHeader(pw.ResponseHeaders, "X-Scenario", "header-rewrite")
	return filter.Continue
}
