// Command sc-api-key is the api-key scenario as a proxy-wasm filter
// (standard Go on sdk/proxywasm/filter): a header must hold one of the
// configured keys; the upstream learns which one (1-based).
package main

import (
	"strconv"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

type root struct {
	filter.DefaultRootContext
	Keys   []string `json:"keys"`
	Header string   `json:"header"`
}

type request struct {
	filter.DefaultHTTPContext
	*root
}

var jsonHeaders = [][2]string{{"Content-Type", "application/json; charset=utf-8"}}

func init() { filter.SetRootContext(func(uint32) filter.RootContext { return &root{} }) }

func main() {}

func (r *root) OnPluginStart(b []byte) bool { return filter.JSONConfig(b, r) }

func (r *root) NewHTTPContext(uint32) filter.HTTPContext { return &request{root: r} }

func (q *request) OnHTTPRequestHeaders(int, bool) filter.Action {
	got, st := pw.Header(pw.RequestHeaders, q.Header)
	if st != pw.StatusOK {
		pw.SendLocalResponse(401, []byte(`{"message":"No API key found in request"}`), jsonHeaders)
		return filter.Pause
	}
	for i, k := range q.Keys {
		if k == got {
			pw.ReplaceHeader(pw.RequestHeaders, "X-Key-Index", strconv.Itoa(i+1))
			return filter.Continue
		}
	}
	pw.SendLocalResponse(403, []byte(`{"message":"Invalid API key"}`), jsonHeaders)
	return filter.Pause
}
