// Command sc-body-rule is the body-rule scenario as a proxy-wasm filter
// (standard Go on sdk/proxywasm/filter): a request body containing the
// forbidden string is refused with 400.
package main

import (
	"bytes"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

type root struct {
	filter.DefaultRootContext
	Forbidden string `json:"forbidden"`
}

type request struct {
	filter.DefaultHTTPContext
	*root
}

func init() { filter.SetRootContext(func(uint32) filter.RootContext { return &root{} }) }

func main() {}

func (r *root) OnPluginStart(b []byte) bool { return filter.JSONConfig(b, r) }

func (r *root) NewHTTPContext(uint32) filter.HTTPContext { return &request{root: r} }

func (q *request) OnHTTPRequestBody(size int, eos bool) filter.Action {
	body, _ := pw.Buffer(pw.RequestBody, 0, uint32(size))
	if q.Forbidden != "" && bytes.Contains(body, []byte(q.Forbidden)) {
		pw.SendLocalResponse(400, []byte(`{"message":"forbidden content"}`),
			[][2]string{{"Content-Type", "application/json; charset=utf-8"}})
		return filter.Pause
	}
	return filter.Continue
}
