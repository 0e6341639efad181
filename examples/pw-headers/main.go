// Command pw-headers is a proxy-wasm filter written with the standard Go
// toolchain on sdk/proxywasm/filter: it adds and removes request headers
// before the request goes upstream, adds response headers, and refuses
// (400) a request without a required header. It runs from Kong filter
// chains and as a filter plugin, on Gatehouse and on any proxy-wasm host.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o pw-headers.wasm .
//
// Its configuration (pw-headers.meta.json holds the JSON schema):
//
//	{"add_request": {"X-Name": "value"}, "remove_request": ["X-Secret"],
//	 "add_response": {"X-Served-By": "gatehouse"}, "require": "X-Tenant"}
package main

import (
	"encoding/json"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

// config is the filter's configuration.
type config struct {
	AddRequest    map[string]string `json:"add_request"`
	RemoveRequest []string          `json:"remove_request"`
	AddResponse   map[string]string `json:"add_response"`
	Require       string            `json:"require"`
}

// root is the filter's root context: one per configuration.
type root struct {
	filter.DefaultRootContext
	cfg config
}

// request is a request's context.
type request struct {
	filter.DefaultHTTPContext
	cfg *config
}

func init() {
	filter.SetRootContext(func(uint32) filter.RootContext { return &root{} })
}

func main() {}

// OnPluginStart decodes the configuration (none is an empty one).
func (r *root) OnPluginStart(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if err := json.Unmarshal(b, &r.cfg); err != nil {
		pw.Log(pw.LogError, "pw-headers: bad configuration: "+err.Error())
		return false
	}
	return true
}

// NewHTTPContext gives each request the configuration.
func (r *root) NewHTTPContext(uint32) filter.HTTPContext { return &request{cfg: &r.cfg} }

// OnHTTPRequestHeaders refuses a request without the required header, or
// changes its headers.
func (q *request) OnHTTPRequestHeaders(int, bool) filter.Action {
	if q.cfg.Require != "" {
		if _, st := pw.Header(pw.RequestHeaders, q.cfg.Require); st != pw.StatusOK {
			body, _ := json.Marshal(map[string]string{"message": "missing header " + q.cfg.Require})
			pw.SendLocalResponse(400, body, [][2]string{{"Content-Type", "application/json"}})
			return filter.Pause
		}
	}
	for _, name := range q.cfg.RemoveRequest {
		pw.RemoveHeader(pw.RequestHeaders, name)
	}
	for name, value := range q.cfg.AddRequest {
		pw.AddHeader(pw.RequestHeaders, name, value)
	}
	return filter.Continue
}

// OnHTTPResponseHeaders adds the response headers.
func (q *request) OnHTTPResponseHeaders(int, bool) filter.Action {
	for name, value := range q.cfg.AddResponse {
		pw.AddHeader(pw.ResponseHeaders, name, value)
	}
	return filter.Continue
}
