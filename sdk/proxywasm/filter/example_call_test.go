package filter_test

import (
	"github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

// authRequest holds each request until an authorization service answers.
type authRequest struct{ filter.DefaultHTTPContext }

func (q *authRequest) OnHTTPRequestHeaders(int, bool) filter.Action {
	user, _ := proxywasm.Header(proxywasm.RequestHeaders, "x-user")
	headers := [][2]string{{":method", "GET"}, {":path", "/check?user=" + user}, {":authority", "auth.local"}}
	_, st := filter.DispatchHTTPCall("auth.local:8080", headers, nil, 2000, func(_, bodySize, _ int) {
		if status, _ := proxywasm.Header(proxywasm.HTTPCallResponseHeaders, ":status"); status != "200" {
			proxywasm.SendLocalResponse(403, []byte("refused\n"), nil)
			return
		}
		proxywasm.ContinueStream(0) // the request goes on upstream
	})
	if st != proxywasm.StatusOK {
		proxywasm.SendLocalResponse(500, nil, nil)
	}
	return filter.Pause // until the callback decides
}

// A request waits on an outbound call whose answer decides it.
func ExampleDispatchHTTPCall() {
	filter.SetRootContext(func(uint32) filter.RootContext { return authRoot{} })
}

type authRoot struct{ filter.DefaultRootContext }

func (authRoot) NewHTTPContext(uint32) filter.HTTPContext { return &authRequest{} }
