package plugin

import (
	"net/http"
	"testing"
)

// TestCatalogEndpoints: only enabled plugins contribute endpoints, in
// name order, built with the host given.
func TestCatalogEndpoints(t *testing.T) {
	var seen []Host
	def := func(name, path string) *Definition {
		return &Definition{Name: name, Endpoints: func(env EndpointEnv) []Endpoint {
			seen = append(seen, env.Node)
			return []Endpoint{{Path: path, Method: http.MethodGet, Status: true, Handler: http.NotFoundHandler()}}
		}}
	}
	host := HostFunc(func() NodeStats { return NodeStats{NodeID: "n"} })
	cases := []struct {
		name    string
		enabled []string
		want    []string
	}{
		{"both", []string{"ep-b", "ep-a"}, []string{"/a", "/b"}},
		{"one", []string{"ep-b"}, []string{"/b"}},
		{"none", []string{"off"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			c, err := NewCatalog(tc.enabled, def("ep-a", "/a"), def("ep-b", "/b"))
			if err != nil {
				t.Fatal(err)
			}
			eps := c.Endpoints(EndpointEnv{Node: host})
			if len(eps) != len(tc.want) {
				t.Fatalf("%d endpoints, want %v", len(eps), tc.want)
			}
			for i, e := range eps {
				if e.Path != tc.want[i] {
					t.Fatalf("endpoint %d: %s, want %s", i, e.Path, tc.want[i])
				}
			}
			for _, h := range seen {
				if h.Stats().NodeID != "n" {
					t.Fatal("endpoint built without the node's host")
				}
			}
		})
	}
}
