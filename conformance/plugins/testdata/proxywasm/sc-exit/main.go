// Command sc-exit is the exit scenario as a proxy-wasm filter (standard
// Go on sdk/proxywasm/filter): it answers every request itself.
package main

import (
	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

type root struct {
	filter.DefaultRootContext
	Status      uint32 `json:"status"`
	Body        string `json:"body"`
	ContentType string `json:"content_type"`
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
	pw.SendLocalResponse(q.Status, []byte(q.Body),
		[][2]string{{"Content-Type", q.ContentType}, {"X-Scenario", "exit"}})
	return filter.Pause
}
