// Package router_test runs the router conformance corpus
// (testdata/corpus.json): Kong 3.x traditional_compatible routing cases,
// each a set of routes and services, one request and the expected result.
package router_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/router"
)

// corpusCase is one case of testdata/corpus.json.
//
// Routes and services are stored entities. A route without "id" gets
// 00000000-0000-4000-8000-<index, 12 digits>; cases where the id tie-break
// matters set ids. Fields of "want" are checked only when present.
type corpusCase struct {
	Name     string           `json:"name"`
	Source   string           `json:"source,omitempty"`
	Options  corpusOptions    `json:"options"`
	Services []map[string]any `json:"services"`
	Routes   []map[string]any `json:"routes"`
	Request  corpusRequest    `json:"request"`
	Want     map[string]json.RawMessage
}

type corpusOptions struct {
	PathHandlingV1 bool `json:"path_handling_v1"`
}

type corpusRequest struct {
	Method  string              `json:"method"`
	Host    string              `json:"host"`
	Path    string              `json:"path"`
	Scheme  string              `json:"scheme"`
	SNI     string              `json:"sni"`
	Port    int                 `json:"port"`
	Headers map[string][]string `json:"headers"`
}

func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	data, err := os.ReadFile("testdata/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	cases := make([]corpusCase, len(raw))
	for i, r := range raw {
		c := &cases[i]
		for k, v := range r {
			var err error
			switch k {
			case "name":
				err = json.Unmarshal(v, &c.Name)
			case "source":
				err = json.Unmarshal(v, &c.Source)
			case "options":
				err = json.Unmarshal(v, &c.Options)
			case "services":
				err = json.Unmarshal(v, &c.Services)
			case "routes":
				err = json.Unmarshal(v, &c.Routes)
			case "request":
				err = json.Unmarshal(v, &c.Request)
			case "want":
				err = json.Unmarshal(v, &c.Want)
			default:
				err = fmt.Errorf("unknown key %q", k)
			}
			if err != nil {
				t.Fatalf("case %d (%s): %s: %v", i, c.Name, k, err)
			}
		}
	}
	return cases
}

func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 60 {
		t.Fatalf("corpus has %d cases, want at least 60", len(cases))
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.Name] {
			t.Errorf("duplicate case name %q", c.Name)
		}
		names[c.Name] = true
		t.Run(c.Name, func(t *testing.T) { runCase(t, c) })
	}
}

func runCase(t *testing.T, c corpusCase) {
	services := map[string]map[string]any{}
	for _, s := range c.Services {
		services[s["id"].(string)] = s
	}
	byID := map[string]string{}
	for i, r := range c.Routes {
		if _, ok := r["id"]; !ok {
			r["id"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		}
		name, _ := r["name"].(string)
		byID[r["id"].(string)] = name
	}
	rt, err := router.CompileWithOptions(c.Routes, services, router.Options{PathHandlingV1: c.Options.PathHandlingV1})
	if rt == nil {
		t.Fatalf("Compile returned nil router (err %v)", err)
	}
	skipped := 0
	var ce *router.CompileError
	if errors.As(err, &ce) {
		skipped = len(ce.Routes)
	} else if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	var wantSkipped int
	if raw, ok := c.Want["compile_errors"]; ok {
		mustUnmarshal(t, raw, &wantSkipped)
	}
	if skipped != wantSkipped {
		t.Errorf("compile errors = %d (%v), want %d", skipped, err, wantSkipped)
	}

	h := http.Header{}
	for k, vs := range c.Request.Headers {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	req := &router.Request{Method: c.Request.Method, Host: c.Request.Host, Path: c.Request.Path,
		Scheme: c.Request.Scheme, SNI: c.Request.SNI, Port: c.Request.Port, Header: h.Values}
	if req.Method == "" {
		req.Method = "GET"
	}
	if req.Scheme == "" {
		req.Scheme = "http"
	}
	var m router.Match
	ok := rt.Match(req, &m)

	var wantRoute *string
	if raw, has := c.Want["route"]; has {
		mustUnmarshal(t, raw, &wantRoute)
	} else {
		t.Fatal(`case has no want.route`)
	}
	if wantRoute == nil {
		if ok {
			t.Fatalf("matched route %q (%s), want no match", m.Route.Name, m.Route.ID)
		}
		return
	}
	if !ok {
		t.Fatalf("no match, want route %q", *wantRoute)
	}
	if m.Route.Name != *wantRoute {
		t.Fatalf("matched route %q, want %q", m.Route.Name, *wantRoute)
	}
	checkString := func(key, got string) {
		if raw, has := c.Want[key]; has {
			var want string
			mustUnmarshal(t, raw, &want)
			if got != want {
				t.Errorf("%s = %q, want %q", key, got, want)
			}
		}
	}
	checkString("upstream_path", m.UpstreamPath)
	checkString("matched_path", m.MatchedPath)
	checkString("prefix", m.Prefix)
	checkString("upstream_host", m.UpstreamHost)
	checkString("path", m.Path)
	if raw, has := c.Want["captures"]; has {
		var want map[string]string
		mustUnmarshal(t, raw, &want)
		if got := m.Captures.Map(); !reflect.DeepEqual(got, want) {
			t.Errorf("captures = %v, want %v", got, want)
		}
	}
	if raw, has := c.Want["https_required"]; has {
		var want bool
		mustUnmarshal(t, raw, &want)
		if got := m.Route.HTTPSRequired(req.Scheme); got != want {
			t.Errorf("https_required = %v, want %v", got, want)
		}
	}
	if raw, has := c.Want["https_redirect_status"]; has {
		var want int
		mustUnmarshal(t, raw, &want)
		if m.Route.HTTPSRedirectStatus != want {
			t.Errorf("https_redirect_status = %d, want %d", m.Route.HTTPSRedirectStatus, want)
		}
	}
}

func mustUnmarshal(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("want: %v", err)
	}
}
