package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/open-policy-agent/opa/v1/ast"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// request returns the hostabi.Request of a fake request.
func request(method, path string, headers ...string) hostabi.Request {
	r := plugintest.NewRequest(method, path)
	for i := 0; i+1 < len(headers); i += 2 {
		r = r.WithHeader(headers[i], headers[i+1])
	}
	return plugintest.NewEnv().NewKong(r).Request()
}

func TestCheckReportsLineAndColumn(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // substrings of the error; none: compiles
	}{
		{"compiles", "package p\nallow if input.x == 1\n", nil},
		{"parse error", "package p\n\nallow if {\n  input.x ==\n}\n", []string{"line 5, column 1", "rego_parse_error"}},
		{"unsafe var", "package p\nallow if x == 1\n", []string{"line 2, column 10", "rego_unsafe_var_error", "var x is unsafe"}},
		{"type error", "package p\nallow if count(1) > 0\n", []string{"line 2, column 10", "rego_type_error"}},
		{"undefined function", "package p\nallow if nope(input.x)\n", []string{"line 2, column 10", "undefined function nope"}},
		{"reserved namespace", "package gatehouse.acl\nallow := true\n", []string{"line 1, column 1", "reserved"}},
		{"network built-in denied", "package p\nallow if http.send({\"method\": \"get\", \"url\": \"http://x\"}).status_code == 200\n",
			[]string{"line 2", "undefined function http.send"}},
		{"environment built-in denied", "package p\nallow if opa.runtime().env.HOME\n", []string{"line 2", "undefined function opa.runtime"}},
		{"empty", "  \n", []string{"empty policy"}},
		{"rego v0 syntax refused", "package p\nallow { true }\n", []string{"line 2", "rego_parse_error"}},
		{"reads shipped rules", "package p\nallow if data.gatehouse.acl.allow\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check("p", c.src)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *CompileError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCheckFieldIsTheStoreValidator(t *testing.T) {
	if msg := checkField("package p\nallow if {"); !strings.Contains(msg, "line ") {
		t.Errorf("checkField = %q", msg)
	}
	if msg := checkField(42); msg != "expected a string" {
		t.Errorf("checkField(42) = %q", msg)
	}
	if msg := checkField(readFixture(t, "admin_or_reader_get.rego")); msg != "" {
		t.Errorf("checkField(fixture) = %q", msg)
	}
}

// newSet compiles sources; a zero timeout is a generous one (a loaded
// machine running -race never fails a decision by the clock).
func newSet(t testing.TB, timeout time.Duration, sources ...Source) *Set {
	t.Helper()
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	s, err := NewCompiler(Options{Timeout: timeout}).Build(1, sources)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func aclConfig(t testing.TB, js string) ast.Value {
	t.Helper()
	v, err := ast.ParseTerm(js)
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

// TestShippedACL is Kong's acl rule over (allow/deny, groups).
func TestShippedACL(t *testing.T) {
	acl, err := newSet(t, 0).Shipped("acl")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		config string
		groups []string
		want   bool
	}{
		{`{"allow": ["admin"], "deny": []}`, []string{"admin"}, true},
		{`{"allow": ["admin"], "deny": []}`, []string{"user", "admin"}, true},
		{`{"allow": ["admin"], "deny": []}`, []string{"user"}, false},
		{`{"allow": ["admin"], "deny": []}`, nil, false},
		{`{"allow": ["admin", "ops"], "deny": []}`, []string{"ops"}, true},
		{`{"allow": [], "deny": ["banned"]}`, []string{"user"}, true},
		{`{"allow": [], "deny": ["banned"]}`, nil, true},
		{`{"allow": [], "deny": ["banned"]}`, []string{"user", "banned"}, false},
		{`{"allow": [], "deny": []}`, []string{"x"}, false},
		{`{"allow": ["a"], "deny": ["a"]}`, []string{"a"}, false}, // a deny list wins
	}
	for _, c := range cases {
		d := NewDecider(acl, aclConfig(t, c.config))
		got, err := d.Allow(context.Background(), &Facts{Groups: c.groups})
		if err != nil || got != c.want {
			t.Errorf("%s groups %v: allow = %v, %v; want %v", c.config, c.groups, got, err, c.want)
		}
	}
	if got := acl.KeyFacts(); got != "groups" {
		t.Errorf("acl KeyFacts = %q, want groups (its decision is a function of groups and the static config)", got)
	}
}

func TestReadsAndKeys(t *testing.T) {
	cases := []struct {
		file, keys string
		cacheable  bool
	}{
		{"admin_or_reader_get.rego", "groups, request.method", true},
		{"header_team.rego", "consumer.username, header x-team", true},
		{"extends_acl.rego", "groups, request.method", true},
		{"whole_headers.rego", "not cached: reads input.request.headers as a whole", false},
		{"clock.rego", "not cached: calls a non-deterministic built-in", false},
		{"fails_at_eval.rego", "request.method", true},
	}
	for _, c := range cases {
		set := newSet(t, 0, Source{Name: c.file, Rego: readFixture(t, c.file)})
		p, err := set.Policy(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.KeyFacts(); got != c.keys || p.Cacheable() != c.cacheable {
			t.Errorf("%s: KeyFacts %q cacheable %v; want %q %v (reads %s)", c.file, got, p.Cacheable(), c.keys, c.cacheable, p.Reads)
		}
	}
	for src, want := range map[string]string{
		"package p\nallow if { x := input; x.a == 1 }\n":              "not cached: reads the whole input",
		"package p\nallow if { input[k] == 1; k == \"a\" }\n":         "not cached: reads the whole input",
		"package p\nallow if input.consumer.id == \"x\"\n":            "consumer.id",
		"package p\nallow if input.consumer == {}\n":                  "consumer.id, consumer.username, consumer.custom_id",
		"package p\nallow if input.config.x == 1\n":                   "constant",
		"package p\nallow if f(1)\nf(x) if input.client.ip == x\n":    "client.ip",
		"package p\nallow if input.request.query.team == \"a\"\n":     "query team",
		"package p\nallow if input.request.headers[\"X-Team\"]\n":     "header x-team",
		"package p\nallow if data.p.q with input.groups as [\"a\"]\n": "not cached: reads the whole input",
		"package p\nallow if input.request.headers.a\nq if true\n":    "header a",
	} {
		set := newSet(t, 0, Source{Name: "p", Rego: src})
		p, err := set.Policy("p")
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := p.KeyFacts(); got != want {
			t.Errorf("%q: KeyFacts %q, want %q (reads %s)", src, got, want, p.Reads)
		}
	}
}

// TestCustomPolicyDecisions: "group admin, or group reader and method
// GET", cached by exactly (groups, method).
func TestCustomPolicyDecisions(t *testing.T) {
	set := newSet(t, 0, Source{Name: "readers", Rego: readFixture(t, "admin_or_reader_get.rego")})
	p, err := set.Policy("readers")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecider(p, nil)
	ctx := context.Background()
	cases := []struct {
		groups []string
		method string
		want   bool
	}{
		{[]string{"admin"}, "DELETE", true},
		{[]string{"reader"}, "GET", true},
		{[]string{"reader"}, "POST", false},
		{[]string{"other"}, "GET", false},
		{nil, "GET", false},
	}
	for round := 0; round < 2; round++ {
		for _, c := range cases {
			got, err := d.Allow(ctx, &Facts{Groups: c.groups, Request: request(c.method, "/")})
			if err != nil || got != c.want {
				t.Errorf("round %d %v %s: %v, %v; want %v", round, c.groups, c.method, got, err, c.want)
			}
		}
	}
	if n := d.Evaluations(); n != uint64(len(cases)) {
		t.Errorf("%d evaluations for %d distinct fact sets decided twice", n, len(cases))
	}
	// A different path is the same decision: the policy does not read it.
	if _, err := d.Allow(ctx, &Facts{Groups: []string{"reader"}, Request: request("GET", "/other")}); err != nil {
		t.Fatal(err)
	}
	if n := d.Evaluations(); n != uint64(len(cases)) {
		t.Errorf("a fact the policy does not read caused an evaluation")
	}
}

func TestKeysAreInjective(t *testing.T) {
	set := newSet(t, 0, Source{Name: "team", Rego: readFixture(t, "header_team.rego")})
	p, _ := set.Policy("team")
	d := NewDecider(p, nil)
	ctx := context.Background()
	for _, c := range []struct {
		user, team string
		hasTeam    bool
		want       bool
	}{
		{"ab", "ab", true, true},
		{"a", "bab", true, false},
		{"", "", true, true},
		{"", "", false, false}, // absent header is not the empty header
	} {
		var req hostabi.Request
		if c.hasTeam {
			req = request("GET", "/", "X-Team", c.team)
		} else {
			req = request("GET", "/")
		}
		got, err := d.Allow(ctx, &Facts{Consumer: hostabi.Entity{"username": c.user}, Request: req})
		if err != nil || got != c.want {
			t.Errorf("user %q team %q (%v): %v, %v; want %v", c.user, c.team, c.hasTeam, got, err, c.want)
		}
	}
}

// TestAbsentConsumerIsNotAnEmptyOne: a missing consumer and a consumer
// without a username key differently.
func TestAbsentConsumerIsNotAnEmptyOne(t *testing.T) {
	set := newSet(t, 0, Source{Name: "c", Rego: "package c\nallow if input.consumer.username == \"\"\n"})
	p, _ := set.Policy("c")
	d := NewDecider(p, nil)
	ctx := context.Background()
	for _, c := range []struct {
		consumer hostabi.Entity
		want     bool
	}{{hostabi.Entity{"id": "x"}, true}, {nil, false}, {hostabi.Entity{"id": "x"}, true}, {nil, false}} {
		got, err := d.Allow(ctx, &Facts{Consumer: c.consumer})
		if err != nil || got != c.want {
			t.Errorf("consumer %v: %v, %v; want %v", c.consumer, got, err, c.want)
		}
	}
	if d.Evaluations() != 2 {
		t.Errorf("evaluations %d, want 2", d.Evaluations())
	}
}

func TestUncacheablePoliciesEvaluateEveryTime(t *testing.T) {
	set := newSet(t, 0, Source{Name: "any", Rego: readFixture(t, "whole_headers.rego")})
	p, _ := set.Policy("any")
	d := NewDecider(p, nil)
	ctx := context.Background()
	for i, c := range []struct {
		h    []string
		want bool
	}{{[]string{"X-Allow-Me", "yes"}, true}, {[]string{"X-Other", "yes"}, false}, {[]string{"X-Allow-Me", "yes"}, true}} {
		got, err := d.Allow(ctx, &Facts{Request: request("GET", "/", c.h...)})
		if err != nil || got != c.want {
			t.Errorf("%d: %v, %v", i, got, err)
		}
	}
	if d.Evaluations() != 3 {
		t.Errorf("evaluations %d, want 3", d.Evaluations())
	}
}

func TestFailsClosed(t *testing.T) {
	set := newSet(t, 5*time.Millisecond,
		Source{Name: "broken", Rego: readFixture(t, "fails_at_eval.rego")},
		Source{Name: "slow", Rego: readFixture(t, "slow.rego")})
	ctx := context.Background()
	broken, _ := set.Policy("broken")
	d := NewDecider(broken, nil)
	for i := 0; i < 2; i++ { // errors are not cached
		if ok, err := d.Allow(ctx, &Facts{Request: request("GET", "/")}); err == nil || ok {
			t.Errorf("broken policy: allow %v, err %v; want an error", ok, err)
		}
	}
	if d.Evaluations() != 2 {
		t.Errorf("evaluations %d, want 2", d.Evaluations())
	}
	slow, _ := set.Policy("slow")
	start := time.Now()
	ok, err := NewDecider(slow, nil).Allow(ctx, &Facts{})
	if !errors.Is(err, ErrTimeout) || ok {
		t.Errorf("slow policy: %v, %v; want ErrTimeout", ok, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the timeout took %v to stop the evaluation", el)
	}
}

func TestSetLookups(t *testing.T) {
	c := NewCompiler(Options{})
	ok := Source{Name: "ok", Rego: readFixture(t, "admin_or_reader_get.rego")}
	bad := Source{Name: "bad", Rego: "package p\nallow if {"}
	s1, err := c.Build(1, []Source{ok, bad})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Policy("bad"); err == nil || !strings.Contains(err.Error(), "line ") {
		t.Errorf("bad policy: %v", err)
	}
	if _, err := s1.Policy("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing policy: %v", err)
	}
	p1, _ := s1.Policy("ok")
	s2, _ := c.Build(2, []Source{ok})
	if p2, _ := s2.Policy("ok"); p2 != p1 {
		t.Error("an unchanged policy was compiled again")
	}
	changed := Source{Name: "ok", Rego: ok.Rego + "\nallow if input.x\n"}
	s3, _ := c.Build(3, []Source{changed})
	if p3, _ := s3.Policy("ok"); p3 == p1 || p3 == nil {
		t.Error("a changed policy was not compiled again")
	}
	if got := s2.Names(); len(got) != 1 || got[0] != "ok" {
		t.Errorf("Names %v", got)
	}
	if _, err := (*Set)(nil).Shipped("acl"); !errors.Is(err, ErrNotFound) {
		t.Errorf("nil set: %v", err)
	}
}

func TestConcurrentDecisions(t *testing.T) {
	set := newSet(t, 0, Source{Name: "readers", Rego: readFixture(t, "admin_or_reader_get.rego")})
	p, _ := set.Policy("readers")
	d := NewDecider(p, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				method := []string{"GET", "POST"}[(i+w)%2]
				got, err := d.Allow(context.Background(), &Facts{Groups: []string{"reader"}, Request: request(method, "/")})
				if err != nil || got != (method == "GET") {
					errs <- method
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for m := range errs {
		t.Errorf("wrong decision for %s", m)
	}
}

func FuzzCheck(f *testing.F) {
	for _, name := range []string{"admin_or_reader_get.rego", "header_team.rego", "slow.rego", "extends_acl.rego"} {
		f.Add(readFixture(f, name))
	}
	f.Add("package p\nallow if {")
	f.Add("package gatehouse\n")
	f.Fuzz(func(t *testing.T, src string) {
		err := Check("fuzz", src)
		if err == nil {
			return
		}
		var ce *CompileError
		if !errors.As(err, &ce) || len(ce.Errors) == 0 || len(ce.Errors) > maxReportedErrors {
			t.Fatalf("Check(%q) = %v (%T)", src, err, err)
		}
	})
}

// TestCacheIsBounded: distinct fact sets beyond MaxCachedDecisions do not
// grow the cache past it.
func TestCacheIsBounded(t *testing.T) {
	acl, _ := newSet(t, 0).Shipped("acl")
	d := NewDecider(acl, aclConfig(t, `{"allow": ["g1"], "deny": []}`))
	for i := 0; i < MaxCachedDecisions+10; i++ {
		if _, err := d.Allow(context.Background(), &Facts{Groups: []string{"g" + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	d.mu.RLock()
	n := len(d.cache)
	d.mu.RUnlock()
	if n > MaxCachedDecisions || n == 0 {
		t.Errorf("cache holds %d decisions (bound %d)", n, MaxCachedDecisions)
	}
}
