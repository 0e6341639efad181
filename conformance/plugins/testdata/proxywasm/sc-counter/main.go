// Command sc-counter is the counter scenario as a proxy-wasm filter
// (standard Go on sdk/proxywasm/filter): each user's requests (a header
// names the user) are counted in the node's shared data (compare-and-swap)
// and the response reports the count.
package main

import (
	"strconv"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

type root struct {
	filter.DefaultRootContext
	Header string `json:"header"`
}

// request keeps its count from the request's headers to the response's.
type request struct {
	filter.DefaultHTTPContext
	*root
	count int
}

func init() { filter.SetRootContext(func(uint32) filter.RootContext { return &root{} }) }

func main() {}

func (r *root) OnPluginStart(b []byte) bool { return filter.JSONConfig(b, r) }

func (r *root) NewHTTPContext(uint32) filter.HTTPContext { return &request{root: r} }

func (q *request) OnHTTPRequestHeaders(int, bool) filter.Action {
	user, _ := pw.Header(pw.RequestHeaders, q.Header)
	key := "sc-counter:" + user
	for {
		v, cas, _ := pw.SharedData(key)
		c, _ := strconv.Atoi(string(v))
		if pw.SetSharedData(key, []byte(strconv.Itoa(c+1)), cas) == pw.StatusOK {
			q.count = c + 1
			return filter.Continue
		}
	}
}

func (q *request) OnHTTPResponseHeaders(int, bool) filter.Action {
	pw.ReplaceHeader(pw.ResponseHeaders, "X-Count", strconv.Itoa(q.count))
	return filter.Continue
}
