package plugin

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
)

// endpointFactory is a provider's factory that serves endpoints.
type endpointFactory struct {
	serve func(ctx context.Context, host hostabi.EndpointHost, req hostabi.EndpointRequest) (hostabi.EndpointResponse, error)
}

func (endpointFactory) New(map[string]any) (any, error) { return struct{}{}, nil }

func (f endpointFactory) ServeEndpoint(ctx context.Context, host hostabi.EndpointHost, req hostabi.EndpointRequest) (hostabi.EndpointResponse, error) {
	return f.serve(ctx, host, req)
}

// plainFactory serves no endpoints.
type plainFactory struct{}

func (plainFactory) New(map[string]any) (any, error) { return struct{}{}, nil }

func providedWith(t *testing.T, f hostabi.Factory, eps ...hostabi.EndpointDefinition) *Definition {
	t.Helper()
	d, err := FromData(hostabi.ProvidedPlugin{Definition: hostabi.Definition{Name: "desk", Version: "1.0.0", Endpoints: eps},
		Factory: f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFromDataEndpointsRefused: declared endpoints need an
// EndpointServer factory and valid methods and paths.
func TestFromDataEndpointsRefused(t *testing.T) {
	cases := []struct {
		name string
		f    hostabi.Factory
		ep   hostabi.EndpointDefinition
		want string
	}{
		{"no server", plainFactory{}, hostabi.EndpointDefinition{Method: "GET", Path: "/x"}, "its factory serves none"},
		{"bad method", endpointFactory{}, hostabi.EndpointDefinition{Method: "TRACE", Path: "/x"}, "invalid endpoint"},
		{"relative path", endpointFactory{}, hostabi.EndpointDefinition{Method: "GET", Path: "x"}, "invalid endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromData(hostabi.ProvidedPlugin{Definition: hostabi.Definition{Name: "desk",
				Endpoints: []hostabi.EndpointDefinition{tc.ep}}, Factory: tc.f}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// callEndpoint runs an endpoint's handler as the Admin API does.
func callEndpoint(e Endpoint, method, target, body string, params map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("X-Probe", "p")
	for k, v := range params {
		r.SetPathValue(k, v)
	}
	w := httptest.NewRecorder()
	e.Handler.ServeHTTP(w, r)
	return w
}

// TestProvidedEndpoints: the call reaches ServeEndpoint with the
// request's parts, the answer goes out as given (JSON by default), and
// failures are Kong's 500; calls follow the catalog's current definition.
func TestProvidedEndpoints(t *testing.T) {
	var got hostabi.EndpointRequest
	var gotHost hostabi.EndpointHost
	d := providedWith(t, endpointFactory{serve: func(_ context.Context, host hostabi.EndpointHost, req hostabi.EndpointRequest) (hostabi.EndpointResponse, error) {
		got, gotHost = req, host
		switch req.Params["name"] {
		case "fail":
			return hostabi.EndpointResponse{}, errors.New("lua error")
		case "panic":
			panic("boom")
		case "nostatus":
			return hostabi.EndpointResponse{}, nil
		case "pass":
			return hostabi.EndpointResponse{Pass: true}, nil
		}
		return hostabi.EndpointResponse{Status: 201, Headers: map[string][]string{"x-made": {"yes"}}, Body: []byte(`{"ok":true}`)}, nil
	}}, hostabi.EndpointDefinition{Method: "post", Path: "/desk/:name"}, hostabi.EndpointDefinition{Method: "GET", Path: "/desk/:name"})
	c, err := NewCatalog([]string{"desk"}, d)
	if err != nil {
		t.Fatal(err)
	}
	eps := c.Endpoints(EndpointEnv{Node: HostFunc(func() NodeStats { return NodeStats{NodeID: "n1", Hostname: "h"} })})
	if len(eps) != 2 || eps[0].Method != "POST" || eps[0].Path != "/desk/:name" || !eps[0].Admin || eps[0].Resource != "desk" {
		t.Fatalf("endpoints %+v", eps)
	}
	w := callEndpoint(eps[0], "POST", "/desk/ada?q=1&q=2", `{"a":1}`, map[string]string{"name": "ada"})
	if w.Code != 201 || w.Body.String() != `{"ok":true}` || w.Header().Get("X-Made") != "yes" ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("answer %d %v %s", w.Code, w.Header(), w.Body)
	}
	if got.Method != "POST" || got.Path != "/desk/:name" || got.URI != "/desk/ada" || got.RawQuery != "q=1&q=2" ||
		got.Params["name"] != "ada" || got.Headers["x-probe"][0] != "p" || string(got.Body) != `{"a":1}` {
		t.Fatalf("request %+v", got)
	}
	if gotHost.Node.ID() != "n1" || gotHost.Log == nil || gotHost.DB != nil {
		t.Fatalf("host %+v", gotHost)
	}
	if w := callEndpoint(eps[1], "HEAD", "/desk/ada", "", map[string]string{"name": "ada"}); w.Code != 201 || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d %q", w.Code, w.Body)
	}
	for _, name := range []string{"fail", "panic", "nostatus"} {
		w := callEndpoint(eps[1], "GET", "/desk/"+name, "", map[string]string{"name": name})
		if w.Code != 500 || w.Body.String() != `{"message":"An unexpected error occurred"}` {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	// Pass outside the Admin API's routing (no route to hand it to): 404
	if w := callEndpoint(eps[1], "GET", "/desk/pass", "", map[string]string{"name": "pass"}); w.Code != 404 ||
		w.Body.String() != `{"message":"Not found"}` {
		t.Errorf("pass: %d %s", w.Code, w.Body)
	}
	// a reload: the next definition answers
	d2 := providedWith(t, endpointFactory{serve: func(context.Context, hostabi.EndpointHost, hostabi.EndpointRequest) (hostabi.EndpointResponse, error) {
		return hostabi.EndpointResponse{Status: 200, Body: []byte("v2")}, nil
	}}, hostabi.EndpointDefinition{Method: "GET", Path: "/desk/:name"})
	next, err := NewCatalog([]string{"desk"}, d2)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Replace(next); err != nil {
		t.Fatal(err)
	}
	if w := callEndpoint(eps[1], "GET", "/desk/ada", "", map[string]string{"name": "ada"}); w.Code != 200 || w.Body.String() != "v2" {
		t.Errorf("after the reload: %d %s", w.Code, w.Body)
	}
	// a definition without endpoints: the calls fail closed
	none, _ := NewCatalog([]string{"desk"}, providedWith(t, plainFactory{}))
	if err := c.Replace(none); err != nil {
		t.Fatal(err)
	}
	if w := callEndpoint(eps[1], "GET", "/desk/ada", "", map[string]string{"name": "ada"}); w.Code != 500 {
		t.Errorf("without endpoints: %d %s", w.Code, w.Body)
	}
}
