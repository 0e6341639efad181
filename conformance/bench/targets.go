package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// TargetRow is one line of the targets table.
type TargetRow struct {
	Figure string `json:"figure"`
	Value  string `json:"value"`
	Spread string `json:"spread"`
	Target string `json:"target"`
	// Status is met, missed, met/missed in every round (noisy ±x %),
	// noisy (±x %) (rounds on both sides of the target), reported (no
	// target) or not measured.
	Status string `json:"status"`
	// Detail is the figure itself (absent when not measured).
	Detail *Figure `json:"detail,omitempty"`
}

// goal is a target: the median must be at least (or below) limit.
type goal struct {
	atLeast bool
	// orEqual makes an upper limit inclusive (≤).
	orEqual bool
	limit   float64
	unit    string
}

func (g *goal) String() string {
	if g == nil {
		return "—"
	}
	op := "<"
	switch {
	case g.atLeast:
		op = "≥"
	case g.orEqual:
		op = "≤"
	}
	return strings.TrimSpace(fmt.Sprintf("%s %g %s", op, g.limit, g.unit))
}

func (g *goal) met(v float64) bool {
	switch {
	case g.atLeast:
		return v >= g.limit
	case g.orEqual:
		return v <= g.limit
	}
	return v < g.limit
}

// row judges f against g: not measured without rounds; when its rounds
// disagree by more than noiseLimit, "met in every round" or "missed in
// every round" when all rounds fall on one side of the target, else noisy;
// otherwise met or missed by the median (reported when there is no
// target).
func row(name string, f Figure, format, unit string, g *goal) TargetRow {
	r := TargetRow{Figure: name, Target: g.String()}
	if !f.measured() {
		r.Status = "not measured"
		return r
	}
	fc := f
	r.Detail = &fc
	r.Value = fmt.Sprintf(format, f.Median)
	if unit != "" {
		r.Value += " " + unit
	}
	r.Spread = f.spread(format)
	switch {
	case f.Noisy && g != nil && g.met(f.Min) && g.met(f.Max):
		// Noisy, yet every round is on the target's good side (a goal is
		// monotonic: the extremes decide for all rounds).
		r.Status = fmt.Sprintf("met in every round (noisy ±%.1f %%)", f.SpreadPct)
	case f.Noisy && g != nil && !g.met(f.Min) && !g.met(f.Max):
		r.Status = fmt.Sprintf("missed in every round (noisy ±%.1f %%)", f.SpreadPct)
	case f.Noisy:
		r.Status = fmt.Sprintf("noisy (±%.1f %%)", f.SpreadPct)
	case g == nil:
		r.Status = "reported"
	case g.met(f.Median):
		r.Status = "met"
	default:
		r.Status = "missed"
	}
	return r
}

// notMeasured is a row for a figure nothing measures, with why.
func notMeasured(name, why string, g *goal) TargetRow {
	return TargetRow{Figure: name, Target: g.String(), Status: "not measured (" + why + ")"}
}

// ratioScenarios are the scenarios the table reports as a ratio to
// no-plugins, with their targets (nil: reported).
var ratioScenarios = []struct {
	name string
	goal *goal
}{
	{"key-auth+rate-limiting", &goal{atLeast: true, limit: 0.90}},
	{"request-transformer", nil},
	{"lua-pre-function", nil},
	{"wasm-header-rewrite", nil},
	{"http-wasm-add-header", nil},
	{"proxy-wasm-add-header", nil},
	{"key-auth+acl", nil},
}

// targetRows is the targets table: the proxy figures of the scenarios
// that ran, then the microbenchmarks and scale figures of gb (haveGB:
// -gobench was given).
func targetRows(all []ScenarioResult, gb goBench, haveGB bool) []TargetRow {
	byName := map[string]ScenarioResult{}
	for _, s := range all {
		byName[s.Scenario] = s
	}
	var rows []TargetRow
	ratioRows := func(label, scen, key string, g *goal) {
		s, ok := byName[scen]
		if !ok {
			rows = append(rows, notMeasured(label, "scenario not run", g))
			return
		}
		for _, cr := range s.ByConnections {
			for _, kind := range []string{"req/s", "CPU/req"} {
				k := key + " req/s"
				if kind == "CPU/req" {
					k = key + " cpu"
				}
				rows = append(rows, row(fmt.Sprintf("%s %s, %d conns", label, kind, cr.Connections), cr.Ratios[k], "%.3f", "", g))
			}
		}
	}
	ratioRows("no-plugins / forwarder", "no-plugins", "gatehouse/ceiling", &goal{atLeast: true, limit: 0.95})
	for _, rs := range ratioScenarios {
		ratioRows(rs.name+" / no-plugins", rs.name, "gatehouse/gatehouse-no-plugins", rs.goal)
	}
	if _, ok := byName["key-auth+acl"]; ok {
		ratioRows("key-auth+acl / key-auth", "key-auth+acl", "gatehouse/gatehouse-key-auth", &goal{atLeast: true, limit: 0.95})
	}
	p99 := &goal{orEqual: true, limit: 1.5}
	var anyP99 bool
	for _, s := range all {
		if s.HalfRate == nil {
			continue
		}
		anyP99 = true
		rows = append(rows, row(fmt.Sprintf("%s p99 at half its max rate / nginx's, %d conns", s.Scenario, s.HalfRateConnections),
			s.P99Ratio, "%.2f", "", p99))
	}
	if !anyP99 {
		rows = append(rows, notMeasured("p99 at half of Gatehouse's max rate / nginx's", "-quick or no scenario", p99))
	}

	bench := func(label, name, unit string, scale float64, format, shown string, g *goal) {
		if !haveGB {
			rows = append(rows, notMeasured(label, "no -gobench output", g))
			return
		}
		f := gb.figure(name, unit)
		if !f.measured() {
			rows = append(rows, notMeasured(label, name+" "+unit+" not in the output", g))
			return
		}
		rows = append(rows, row(label, scaled(f, scale), format, shown, g))
	}
	us := 1.0 / 1000
	bench("Wasm hook round trip (BenchmarkWasmAccess)", "BenchmarkWasmAccess", "ns/op", us, "%.2f", "µs", &goal{limit: 3, unit: "µs"})
	bench("Lua hook round trip (BenchmarkHook)", "BenchmarkHook", "ns/op", us, "%.2f", "µs", &goal{limit: 3, unit: "µs"})
	bench("http-wasm hook round trip, with handle_response (BenchmarkHTTPWasmAccess)", "BenchmarkHTTPWasmAccess", "ns/op", us, "%.2f", "µs", &goal{limit: 3, unit: "µs"})
	bench("proxy-wasm hook round trip, with the context's end (BenchmarkProxyWasmAccess)", "BenchmarkProxyWasmAccess", "ns/op", us, "%.2f", "µs", &goal{limit: 3, unit: "µs"})
	bench("OPA steady-state decision (BenchmarkACLCached)", "BenchmarkACLCached", "ns/op", us, "%.3f", "µs", &goal{limit: 1, unit: "µs"})
	bench("snapshot rebuild after one change, 10,000 routes (BenchmarkRebuild10000)", "BenchmarkRebuild10000", "ms/change", 1, "%.1f", "ms", &goal{limit: 100, unit: "ms"})
	bench("PATCH to the proxy serving it, 10,000 (BenchmarkScale10000)", "BenchmarkScale10000/patch-to-proxy", "ms/patch", 1, "%.1f", "ms", &goal{limit: 100, unit: "ms"})
	for _, kind := range []string{"routes", "consumers", "key-auth-credentials"} {
		label := "10,000 " + strings.ReplaceAll(kind, "-", " ") + " created through the Admin API (BenchmarkScale10000)"
		if !haveGB {
			rows = append(rows, notMeasured(label, "no -gobench output", &goal{limit: 5, unit: "s"}))
			continue
		}
		f := gb.figure("BenchmarkScale10000/creates", kind+"/s")
		if !f.measured() {
			rows = append(rows, notMeasured(label, kind+"/s not in the output", &goal{limit: 5, unit: "s"}))
			continue
		}
		var secs []float64
		for _, v := range f.Rounds {
			secs = append(secs, 10000/v)
		}
		rows = append(rows, row(label, newFigure(secs), "%.2f", "s", &goal{limit: 5, unit: "s"}))
	}
	bench("VmRSS with 10,000 routes and consumers (BenchmarkScale10000)", "BenchmarkScale10000/memory", "VmRSS-MiB", 1, "%.1f", "MiB", &goal{limit: 150, unit: "MiB"})
	// BenchmarkProxyRatio reports its own rounds' median, lowest and
	// highest ratio: those three are the figure's spread.
	proxyRatio := func(label, unit string, withRange bool) {
		g := &goal{atLeast: true, limit: 0.95}
		if !haveGB {
			rows = append(rows, notMeasured(label, "no -gobench output", g))
			return
		}
		m := gb.figure("BenchmarkProxyRatio", unit+"-median")
		if !m.measured() {
			rows = append(rows, notMeasured(label, "BenchmarkProxyRatio "+unit+"-median not in the output", g))
			return
		}
		f := m
		if lo, hi := gb.figure("BenchmarkProxyRatio", unit+"-min"), gb.figure("BenchmarkProxyRatio", unit+"-max"); withRange && lo.measured() && hi.measured() {
			f = newFigure([]float64{lo.Median, m.Median, hi.Median})
			f.Median = m.Median
		}
		rows = append(rows, row(label, f, "%.3f", "", g))
	}
	proxyRatio("proxy rate, 10,000 / 10 routes and consumers (BenchmarkProxyRatio)", "rate-ratio", true)
	proxyRatio("proxy CPU/req, 10 / 10,000 routes and consumers (BenchmarkProxyRatio)", "cpu-ratio", false)
	return rows
}

// scaled is f with every value multiplied by k.
func scaled(f Figure, k float64) Figure {
	v := make([]float64, len(f.Rounds))
	for i, x := range f.Rounds {
		v[i] = x * k
	}
	return newFigure(v)
}

// formatTargets prints the table.
func formatTargets(rows []TargetRow) string {
	var b strings.Builder
	b.WriteString("targets (median over the rounds; noisy: a round more than ±5 % from the median, judged only when every round is on the same side of the target; CPU ratios are the baseline's CPU per request over Gatehouse's, so higher is better for both)\n")
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "figure\tvalue\tspread\ttarget\tstatus")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Figure, r.Value, r.Spread, r.Target, r.Status)
	}
	w.Flush()
	return b.String()
}
