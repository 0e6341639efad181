package main

import (
	"strings"
	"testing"
)

func TestTargetRows(t *testing.T) {
	ratio := func(v ...float64) Figure { return newFigure(v) }
	all := []ScenarioResult{
		{Scenario: "no-plugins", ByConnections: []ConnResult{{Connections: 50, Ratios: map[string]Figure{
			"gatehouse/ceiling req/s": ratio(0.96, 0.97, 0.98),
			"gatehouse/ceiling cpu":   ratio(0.90, 0.91, 0.92),
		}}}, HalfRate: map[string][]loadResult{}, HalfRateConnections: 50, P99Ratio: ratio(1.5, 1.5, 1.5)},
		{Scenario: "key-auth+rate-limiting", ByConnections: []ConnResult{{Connections: 16, Ratios: map[string]Figure{
			"gatehouse/gatehouse-no-plugins req/s": ratio(0.80, 0.95, 1.00),
			"gatehouse/gatehouse-no-plugins cpu":   ratio(0.91, 0.92, 0.93),
		}}, {Connections: 50, Ratios: map[string]Figure{
			// Noisy, but every round below the 0.90 target; and every
			// round above it.
			"gatehouse/gatehouse-no-plugins req/s": ratio(0.70, 0.80, 0.85),
			"gatehouse/gatehouse-no-plugins cpu":   ratio(0.91, 1.00, 1.10),
		}}}},
		{Scenario: "lua-pre-function", ByConnections: []ConnResult{{Connections: 16, Ratios: map[string]Figure{
			"gatehouse/gatehouse-no-plugins req/s": ratio(0.5, 0.5),
		}}}},
	}
	gb, err := parseGoBench(strings.NewReader(`
BenchmarkWasmAccess-2 1000 2500 ns/op
BenchmarkWasmAccess-2 1000 2510 ns/op
BenchmarkHook-2 1000 3500 ns/op
BenchmarkScale10000/creates-2 1 1 ns/op 2500 routes/s 1000 consumers/s
BenchmarkScale10000/memory-2 1 1 ns/op 149.9 VmRSS-MiB
BenchmarkProxyRatio-2 1 1 ns/op 0.96 rate-ratio-median 0.95 rate-ratio-min 0.97 rate-ratio-max 0.5 cpu-ratio-median
`))
	if err != nil {
		t.Fatal(err)
	}
	rows := targetRows(all, gb, true)
	want := map[string]string{
		"no-plugins / forwarder req/s, 50 conns":                                          "met",
		"no-plugins / forwarder CPU/req, 50 conns":                                        "missed",
		"key-auth+rate-limiting / no-plugins req/s, 16 conns":                             "noisy (±15.8 %)",
		"key-auth+rate-limiting / no-plugins CPU/req, 16 conns":                           "met",
		"key-auth+rate-limiting / no-plugins req/s, 50 conns":                             "missed in every round (noisy ±12.5 %)",
		"key-auth+rate-limiting / no-plugins CPU/req, 50 conns":                           "met in every round (noisy ±10.0 %)",
		"lua-pre-function / no-plugins req/s, 16 conns":                                   "reported",
		"lua-pre-function / no-plugins CPU/req, 16 conns":                                 "not measured",
		"request-transformer / no-plugins":                                                "not measured (scenario not run)",
		"no-plugins p99 at half its max rate / nginx's, 50 conns":                         "met",
		"Wasm hook round trip (BenchmarkWasmAccess)":                                      "met",
		"Lua hook round trip (BenchmarkHook)":                                             "missed",
		"http-wasm hook round trip, with handle_response (BenchmarkHTTPWasmAccess)":       "not measured (BenchmarkHTTPWasmAccess ns/op not in the output)",
		"OPA steady-state decision (BenchmarkACLCached)":                                  "not measured (BenchmarkACLCached ns/op not in the output)",
		"10,000 routes created through the Admin API (BenchmarkScale10000)":               "met",
		"10,000 consumers created through the Admin API (BenchmarkScale10000)":            "missed",
		"10,000 key auth credentials created through the Admin API (BenchmarkScale10000)": "not measured (key-auth-credentials/s not in the output)",
		"VmRSS with 10,000 routes and consumers (BenchmarkScale10000)":                    "met",
		"proxy rate, 10,000 / 10 routes and consumers (BenchmarkProxyRatio)":              "met",
		"proxy CPU/req, 10 / 10,000 routes and consumers (BenchmarkProxyRatio)":           "missed",
	}
	got := map[string]TargetRow{}
	for _, r := range rows {
		got[r.Figure] = r
	}
	for fig, status := range want {
		r, ok := got[fig]
		if !ok {
			t.Errorf("no row %q", fig)
			continue
		}
		if r.Status != status {
			t.Errorf("%s: status %q, want %q (%+v)", fig, r.Status, status, r)
		}
	}
	if r := got["Wasm hook round trip (BenchmarkWasmAccess)"]; r.Value != "2.50 µs" || r.Target != "< 3 µs" {
		t.Errorf("Wasm row %+v", r)
	}
	if r := got["10,000 routes created through the Admin API (BenchmarkScale10000)"]; r.Value != "4.00 s" {
		t.Errorf("creates row %+v", r)
	}
	if r := got["proxy rate, 10,000 / 10 routes and consumers (BenchmarkProxyRatio)"]; r.Spread != "0.950–0.970 ±1.0 %" {
		t.Errorf("proxy ratio spread %+v", r)
	}
	if r := got["no-plugins p99 at half its max rate / nginx's, 50 conns"]; r.Target != "≤ 1.5" {
		t.Errorf("p99 target %q", r.Target)
	}
	table := formatTargets(rows)
	if !strings.Contains(table, "figure") || strings.Count(table, "\n") != len(rows)+2 {
		t.Errorf("table:\n%s", table)
	}

	for _, r := range targetRows(nil, nil, false) {
		if !strings.HasPrefix(r.Status, "not measured") {
			t.Errorf("nothing ran, yet %q is %q", r.Figure, r.Status)
		}
	}
}
