package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestNewFigure(t *testing.T) {
	for _, c := range []struct {
		name               string
		in                 []float64
		med, lo, hi, sprd  float64
		noisy, wantRounds0 bool
	}{
		{name: "none", in: nil, wantRounds0: true},
		{name: "one", in: []float64{10}, med: 10, lo: 10, hi: 10},
		{name: "agree", in: []float64{100, 103, 98, 101, 99}, med: 100, lo: 98, hi: 103, sprd: 3},
		{name: "noisy high", in: []float64{100, 110, 99, 100, 101}, med: 100, lo: 99, hi: 110, sprd: 10, noisy: true},
		{name: "noisy low", in: []float64{100, 90, 101}, med: 100, lo: 90, hi: 101, sprd: 10, noisy: true},
		{name: "even count", in: []float64{1, 2, 3, 4}, med: 2.5, lo: 1, hi: 4, sprd: 60, noisy: true},
		{name: "exactly 5 %", in: []float64{100, 105, 95}, med: 100, lo: 95, hi: 105, sprd: 5},
		{name: "non-finite left out", in: []float64{2, 1 / zero(), 2}, med: 2, lo: 2, hi: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFigure(c.in)
			if c.wantRounds0 {
				if f.measured() {
					t.Fatalf("measured with no rounds: %+v", f)
				}
				return
			}
			near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
			if !near(f.Median, c.med) || !near(f.Min, c.lo) || !near(f.Max, c.hi) || !near(f.SpreadPct, c.sprd) || f.Noisy != c.noisy {
				t.Fatalf("got %+v, want median %v min %v max %v spread %v noisy %v", f, c.med, c.lo, c.hi, c.sprd, c.noisy)
			}
		})
	}
}

func zero() float64 { return 0 }

func TestParseStatCPU(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     time.Duration
		err      bool
	}{
		{name: "plain", in: "1234 (gatehouse) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 5 0 100 0 0", want: 2870 * time.Millisecond},
		{name: "spaces and parens in comm", in: "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", want: 70 * time.Millisecond},
		{name: "no comm", in: "7 a R 1", err: true},
		{name: "short", in: "7 (x) R 1 2 3", err: true},
		{name: "negative", in: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 -3 4 0 0", err: true},
		{name: "garbage", in: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 a b 0 0", err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStatCPU(c.in)
			if (err != nil) != c.err || got != c.want {
				t.Fatalf("parseStatCPU(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
			}
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "34590253 24356169 93\n", want: 34590253},
		{in: "", err: true},
		{in: "x 1 2", err: true},
		{in: "-5 1 2", err: true},
	} {
		got, err := parseSchedstat(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Fatalf("parseSchedstat(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestCPUTimeOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	a, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for {
		for i := 0; i < 1e6; i++ {
			x += i
		}
		b, err := cpuTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		if b > a {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not grow while spinning: %v then %v", a, b)
		}
	}
	_ = x
}

const sampleBench = `goos: linux
goarch: amd64
pkg: github.com/gatehouse/gatehouse/plugins-wasm/gatehouse
cpu: Intel(R) Xeon(R)
BenchmarkWasmAccess-2     	  500000	      2100 ns/op	      16 B/op	       1 allocs/op
BenchmarkWasmAccess-2     	  500000	      2300 ns/op	      16 B/op	       1 allocs/op
BenchmarkWasmAccess-2     	  500000	      2200 ns/op	      16 B/op	       1 allocs/op
PASS
ok  	github.com/gatehouse/gatehouse/plugins-wasm/gatehouse	5.1s
pkg: github.com/gatehouse/gatehouse/conformance/scale
BenchmarkScale10000/creates-2         	       1	         0.0001 ns/op	      2400 routes/s	       700 routes-cpu-µs/create
BenchmarkScale10000/memory         	       1	  12 ns/op	  98.5 VmRSS-MiB
    scale_test.go:99: a log line
BenchmarkBroken-2   FAIL
BenchmarkOdd-2 10 5 ns/op extra
BenchmarkProxyRatio-2 1 3 ns/op 0.35 rate-ratio-median
--- FAIL: BenchmarkOther
`

func TestParseGoBench(t *testing.T) {
	g, err := parseGoBench(strings.NewReader(sampleBench))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, unit string
		want       float64
		runs       int
	}{
		{"BenchmarkWasmAccess", "ns/op", 2200, 3},
		{"BenchmarkWasmAccess", "allocs/op", 1, 3},
		{"BenchmarkScale10000/creates", "routes/s", 2400, 1},
		{"BenchmarkScale10000/creates", "routes-cpu-µs/create", 700, 1},
		{"BenchmarkScale10000/memory", "VmRSS-MiB", 98.5, 1},
		{"BenchmarkProxyRatio", "rate-ratio-median", 0.35, 1},
	} {
		f := g.figure(c.name, c.unit)
		if f.Median != c.want || len(f.Rounds) != c.runs {
			t.Errorf("%s %s: %+v, want median %v over %d runs", c.name, c.unit, f, c.want, c.runs)
		}
	}
	for _, name := range []string{"BenchmarkBroken", "BenchmarkOdd", "BenchmarkOther"} {
		if _, ok := g[name]; ok {
			t.Errorf("%s parsed from a line that is not a result", name)
		}
	}
	if g.figure("BenchmarkMissing", "ns/op").measured() {
		t.Error("a missing benchmark is measured")
	}
}

func TestBenchName(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkX-2":                  "BenchmarkX",
		"BenchmarkX":                    "BenchmarkX",
		"BenchmarkP/routes=10000-16":    "BenchmarkP/routes=10000",
		"BenchmarkP/key-auth":           "BenchmarkP/key-auth",
		"BenchmarkP-":                   "BenchmarkP-",
		"BenchmarkScale10000/creates-2": "BenchmarkScale10000/creates",
	} {
		if got := benchName(in); got != want {
			t.Errorf("benchName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseGoBench: any input parses without panicking, and every parsed
// benchmark has at least one value per unit.
func FuzzParseGoBench(f *testing.F) {
	f.Add(sampleBench)
	f.Add("BenchmarkA-2 1 NaN ns/op")
	f.Add("Benchmark 1 1 x")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := parseGoBench(strings.NewReader(s))
		if err != nil {
			return
		}
		for name, units := range g {
			for unit, v := range units {
				if len(v) == 0 {
					t.Fatalf("%s %s: no values", name, unit)
				}
				_ = newFigure(v)
			}
		}
	})
}

// FuzzParseStatCPU: /proc text never panics the parser, and a parsed CPU
// time is never negative.
func FuzzParseStatCPU(f *testing.F) {
	f.Add("1234 (gatehouse) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 5 0 100 0 0")
	f.Add("1 ()) R")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseStatCPU(s); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v from %q", d, s)
		}
		if d, err := parseSchedstat(s); err == nil && d < 0 {
			t.Fatalf("negative run time %v from %q", d, s)
		}
	})
}

const sampleWrk = `Running 10s test @ http://127.0.0.1:4000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms  300.00us  12.00ms   90.00%
    Req/Sec    40.12k     1.00k   42.00k    70.00%
  Latency Distribution
     50%    1.10ms
     75%    1.30ms
     90%    1.50ms
     99%  850.00us
  401234 requests in 10.00s, 450.00MB read
Requests/sec:  40123.40
Transfer/sec:     45.00MB
`

func TestParseWrk(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want result
		err  bool
	}{
		{name: "ok", in: sampleWrk, want: result{RPS: 40123.40, P50ms: 1.10, P99ms: 0.85, Requests: 401234}},
		{name: "seconds", in: strings.Replace(sampleWrk, "850.00us", "1.50s", 1), want: result{RPS: 40123.40, P50ms: 1.10, P99ms: 1500, Requests: 401234}},
		{name: "errors", in: sampleWrk + "  Non-2xx or 3xx responses: 12\n", err: true},
		{name: "no rate", in: "unable to connect to 127.0.0.1:4000 Connection refused\n", err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseWrk([]byte(c.in))
			if (err != nil) != c.err {
				t.Fatalf("error %v, want error %v", err, c.err)
			}
			if c.err {
				return
			}
			near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
			if !near(got.RPS, c.want.RPS) || !near(got.P50ms, c.want.P50ms) || !near(got.P99ms, c.want.P99ms) || got.Requests != c.want.Requests {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// FuzzParseWrk: wrk's output never panics the parser.
func FuzzParseWrk(f *testing.F) {
	f.Add(sampleWrk)
	f.Add("Requests/sec: 1.\n 99% 9s\n")
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := parseWrk([]byte(s)); err == nil && r.RPS < 0 {
			t.Fatalf("negative rate from %q", s)
		}
	})
}
