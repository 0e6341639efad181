package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// goBench holds the figures of `go test -bench` output: per benchmark
// (its name without the -GOMAXPROCS suffix, sub-benchmarks included as
// Name/sub), per unit (ns/op, B/op, ms/change, ...), the value of every
// run (several with -count).
type goBench map[string]map[string][]float64

// parseGoBench reads `go test -bench` output. Lines that are not result
// lines (pkg:, PASS, ok, logs, a benchmark that failed) are skipped; a
// result line is `BenchmarkName[-N] <iterations> (<value> <unit>)...`.
func parseGoBench(r io.Reader) (goBench, error) {
	out := goBench{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if n, err := strconv.ParseInt(f[1], 10, 64); err != nil || n <= 0 {
			continue
		}
		vals := map[string]float64{}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			vals[f[i+1]] = v
		}
		if !ok {
			continue
		}
		name := benchName(f[0])
		if out[name] == nil {
			out[name] = map[string][]float64{}
		}
		for unit, v := range vals {
			out[name][unit] = append(out[name][unit], v)
		}
	}
	return out, sc.Err()
}

// benchName strips the -GOMAXPROCS suffix go test appends to a name.
func benchName(s string) string {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 || i == len(s)-1 {
		return s
	}
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			return s
		}
	}
	return s[:i]
}

// figure is the named benchmark's unit over its runs; not measured when
// the output does not have it.
func (g goBench) figure(name, unit string) Figure {
	return newFigure(g[name][unit])
}
