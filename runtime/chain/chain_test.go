package chain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
)

// recorder is a plugin that records its runs and can authenticate, exit,
// fail or panic.
type recorder struct {
	name string
	log  *[]string
	do   func() error
}

func (r *recorder) Access(hostabi.Kong) error {
	*r.log = append(*r.log, r.name)
	if r.do != nil {
		return r.do()
	}
	return nil
}

func (r *recorder) Log(hostabi.Kong) error {
	*r.log = append(*r.log, "log:"+r.name)
	return nil
}

func inst(id, name string, prio int, route, service, consumer string, p any) *chain.Instance {
	in := &chain.Instance{ID: id, Name: name, Priority: prio, RouteID: route, ServiceID: service, ConsumerID: consumer, Plugin: p}
	in.Bind()
	return in
}

// TestPrecedence checks Kong's scoping order for one plugin name, with the
// consumer known from the start.
func TestPrecedence(t *testing.T) {
	var log []string
	mk := func(id, route, service, consumer string) *chain.Instance {
		return inst(id, "p", 10, route, service, consumer, &recorder{name: id, log: &log})
	}
	all := []*chain.Instance{
		mk("global", "", "", ""), mk("service", "", "S", ""), mk("route", "R", "", ""), mk("consumer", "", "", "C"),
		mk("route+service", "R", "S", ""), mk("consumer+service", "", "S", "C"), mk("consumer+route", "R", "", "C"),
		mk("consumer+route+service", "R", "S", "C"),
	}
	cases := []struct {
		drop     int // instances kept: all[drop:] reversed order of specificity
		route    string
		service  string
		consumer string
		want     string
	}{
		{0, "R", "S", "C", "consumer+route+service"},
		{0, "R", "S", "", "route+service"},
		{0, "X", "S", "C", "consumer+service"},
		{0, "R", "X", "C", "consumer+route"},
		{0, "X", "X", "C", "consumer"},
		{0, "R", "X", "", "route"},
		{0, "X", "S", "", "service"},
		{0, "X", "X", "", "global"},
	}
	ix, err := chain.NewIndex(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		log = nil
		var plan chain.Plan
		f := ix.Access(nil, chain.Scope{RouteID: c.route, ServiceID: c.service}, func() string { return c.consumer }, func() bool { return false }, &plan)
		if f != nil || len(log) != 1 || log[0] != c.want {
			t.Errorf("route %s service %s consumer %s: ran %v (%v), want %s", c.route, c.service, c.consumer, log, f, c.want)
		}
	}
	if _, err := chain.NewIndex([]*chain.Instance{mk("a", "R", "", ""), mk("b", "R", "", "")}); err == nil {
		t.Error("two instances on one scope accepted")
	}
}

// TestOrderAuthAndFaults: priority order, a consumer identified by a
// higher-priority plugin brings consumer-scoped plugins in, exits stop the
// chain, faults carry the plugin and phase.
func TestOrderAuthAndFaults(t *testing.T) {
	var log []string
	consumer := ""
	auth := &recorder{name: "auth", log: &log, do: func() error { consumer = "C"; return nil }}
	limited := &recorder{name: "limit-C", log: &log}
	generic := &recorder{name: "transform", log: &log}
	ix, err := chain.NewIndex([]*chain.Instance{
		inst("1", "transform", 800, "", "", "", generic),
		inst("2", "limit", 900, "", "", "C", limited),
		inst("3", "auth", 1000, "R", "", "", auth),
	})
	if err != nil {
		t.Fatal(err)
	}
	var plan chain.Plan
	if f := ix.Access(nil, chain.Scope{RouteID: "R"}, func() string { return consumer }, func() bool { return false }, &plan); f != nil {
		t.Fatal(f)
	}
	if want := []string{"auth", "limit-C", "transform"}; len(log) != 3 || log[0] != want[0] || log[1] != want[1] || log[2] != want[2] {
		t.Fatalf("ran %v, want %v", log, want)
	}
	log = nil
	if f := plan.Run(hostabi.PhaseLog, nil, func() bool { return false }); f != nil || len(log) != 3 {
		t.Fatalf("log phase ran %v (%v)", log, f)
	}

	exited := false
	stopper := &recorder{name: "stop", log: &log, do: func() error { exited = true; return nil }}
	boom := &recorder{name: "boom", log: &log, do: func() error { panic("boom") }}
	failing := &recorder{name: "fail", log: &log, do: func() error { return errors.New("nope") }}
	for _, c := range []struct {
		first    any
		wantRan  int
		wantErr  string
		wantExit bool
	}{
		{stopper, 1, "", true},
		{boom, 1, "plugin first failed in access: panic: boom", false},
		{failing, 1, "plugin first failed in access: nope", false},
	} {
		log, exited = nil, false
		ix, _ := chain.NewIndex([]*chain.Instance{inst("a", "first", 2, "", "", "", c.first), inst("b", "second", 1, "", "", "", generic)})
		var plan chain.Plan
		f := ix.Access(nil, chain.Scope{}, func() string { return "" }, func() bool { return exited }, &plan)
		if len(log) != c.wantRan || exited != c.wantExit {
			t.Errorf("%T: ran %v exited %v", c.first, log, exited)
		}
		if (f == nil) != (c.wantErr == "") || (f != nil && f.Error() != c.wantErr) {
			t.Errorf("fault = %v, want %q", f, c.wantErr)
		}
	}
}

type noop struct{}

func (noop) Access(hostabi.Kong) error { return nil }

// BenchmarkAccess3Noop measures the chain's own cost per request with three
// no-op plugins (target < 1 µs, no allocations).
func BenchmarkAccess3Noop(b *testing.B) {
	ix, err := chain.NewIndex([]*chain.Instance{
		inst("1", "a", 3, "", "", "", noop{}), inst("2", "b", 2, "R", "", "", noop{}), inst("3", "c", 1, "", "S", "", noop{}),
	})
	if err != nil {
		b.Fatal(err)
	}
	var plan chain.Plan
	consumer := func() string { return "" }
	exited := func() bool { return false }
	sc := chain.Scope{RouteID: "R", ServiceID: "S", Protocol: "http"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		plan.Reset()
		if f := ix.Access(nil, sc, consumer, exited, &plan); f != nil {
			b.Fatal(f)
		}
	}
}

// TestDynamicOrdering: an instance's `ordering` changes the access phase's
// order as Kong's default (legacy) algorithm does, the later phases keep
// the priority order, and rules naming absent plugins, cycles and
// consumer-scoped instances do not break the chain.
func TestDynamicOrdering(t *testing.T) {
	type spec struct {
		name          string
		prio          int
		consumer      string
		before, after []string
	}
	cases := []struct {
		name      string
		specs     []spec
		consumer  string
		want      string // access order
		wantLater string // log phase order
	}{
		{"priority order without rules",
			[]spec{{name: "a", prio: 3}, {name: "b", prio: 2}, {name: "c", prio: 1}}, "", "a b c", "a b c"},
		{"before moves the low-priority plugin ahead",
			[]spec{{name: "a", prio: 3}, {name: "b", prio: 2}, {name: "c", prio: 1, before: []string{"a"}}}, "", "c a b", "a b c"},
		{"after moves the high-priority plugin behind",
			[]spec{{name: "a", prio: 3, after: []string{"c"}}, {name: "b", prio: 2}, {name: "c", prio: 1}}, "", "c a b", "a b c"},
		{"a dependency chain is placed before its dependant",
			[]spec{{name: "a", prio: 4, after: []string{"c"}}, {name: "b", prio: 3}, {name: "c", prio: 2, after: []string{"d"}}, {name: "d", prio: 1}}, "", "d c a b", "a b c d"},
		{"rules naming absent plugins are ignored",
			[]spec{{name: "a", prio: 2, after: []string{"nobody"}}, {name: "b", prio: 1, before: []string{"ghost"}}}, "", "a b", "a b"},
		{"a cycle is broken where the walk finds it",
			[]spec{{name: "a", prio: 3, after: []string{"b"}}, {name: "b", prio: 2, after: []string{"a"}}, {name: "c", prio: 1}}, "", "b a c", "a b c"},
		{"a consumer-scoped instance's rules apply only when picked at the start",
			[]spec{{name: "a", prio: 3}, {name: "b", prio: 2}, {name: "c", prio: 1, consumer: "C", before: []string{"a"}}}, "C", "c a b", "a b c"},
		{"consumer-scoped rules are ignored when the consumer comes later",
			[]spec{{name: "auth", prio: 3}, {name: "b", prio: 2}, {name: "c", prio: 1, consumer: "C", before: []string{"b"}}}, "", "auth b c", "auth b c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log []string
			consumer := c.consumer
			var list []*chain.Instance
			for i, s := range c.specs {
				r := &recorder{name: s.name, log: &log}
				if s.name == "auth" {
					r.do = func() error { consumer = "C"; return nil }
				}
				in := inst(string(rune('0'+i)), s.name, s.prio, "", "", s.consumer, r)
				in.RunsBefore, in.RunsAfter = s.before, s.after
				list = append(list, in)
			}
			ix, err := chain.NewIndex(list)
			if err != nil {
				t.Fatal(err)
			}
			var plan chain.Plan
			if f := ix.Access(nil, chain.Scope{}, func() string { return consumer }, func() bool { return false }, &plan); f != nil {
				t.Fatal(f)
			}
			if got := strings.Join(log, " "); got != c.want {
				t.Errorf("access ran %q, want %q", got, c.want)
			}
			log = nil
			plan.Run(hostabi.PhaseLog, nil, func() bool { return false })
			if got := strings.TrimSpace(strings.ReplaceAll(strings.Join(log, " "), "log:", "")); got != c.wantLater {
				t.Errorf("log phase ran %q, want %q", got, c.wantLater)
			}
		})
	}
}

type bodyFilter struct{}

func (bodyFilter) BodyFilter(_ hostabi.Kong, chunk []byte, _ bool) ([]byte, error) { return chunk, nil }

type wanter struct {
	bodyFilter
	want   bool
	panics bool
}

func (w wanter) WantsBody(hostabi.Kong) bool {
	if w.panics {
		panic("undecided")
	}
	return w.want
}

// TestWantsBody: the body is wanted when a planned body filter without
// WantsBody is there, or one whose WantsBody says so; a panic is the
// plugin's fault in header_filter.
func TestWantsBody(t *testing.T) {
	cases := []struct {
		name    string
		plugins []any
		want    bool
		fault   string
	}{
		{"no body filter", []any{noop{}}, false, ""},
		{"a body filter without WantsBody", []any{noop{}, bodyFilter{}}, true, ""},
		{"wanters that decline", []any{wanter{}, wanter{}}, false, ""},
		{"one wanter wants", []any{wanter{}, wanter{want: true}}, true, ""},
		{"a panicking wanter", []any{wanter{panics: true}}, false, "plugin p0 failed in header_filter: panic: undecided"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var list []*chain.Instance
			for i, p := range c.plugins {
				list = append(list, inst(string(rune('a'+i)), "p"+string(rune('0'+i)), 10-i, "", "", "", p))
			}
			ix, err := chain.NewIndex(list)
			if err != nil {
				t.Fatal(err)
			}
			var plan chain.Plan
			ix.Access(nil, chain.Scope{}, func() string { return "" }, func() bool { return false }, &plan)
			got, f := plan.WantsBody(nil)
			if got != c.want || (f == nil) != (c.fault == "") || (f != nil && f.Error() != c.fault) {
				t.Errorf("WantsBody = %v, %v; want %v, %q", got, f, c.want, c.fault)
			}
		})
	}
}
