package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Fixed-rate load: wrk drives a proxy as hard as it can; latency is only
// comparable at the same offered load, so this generator sends requests on
// a fixed schedule and measures each from its scheduled time (no
// coordinated omission).

type loadResult struct {
	Rate  float64 `json:"rate"`
	Sent  int     `json:"sent"`
	Fail  int     `json:"failed"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
}

// runLoadgen is the child process: it sends rate requests a second to
// target for d and prints a loadResult as JSON.
func runLoadgen(target, header string, rate float64, d time.Duration, conns int) error {
	uri := fasthttp.AcquireURI()
	if err := uri.Parse(nil, []byte(target)); err != nil {
		return err
	}
	client := &fasthttp.HostClient{Addr: string(uri.Host()), MaxConns: conns}
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	failed := make([]bool, n)
	jobs := make(chan int, n)
	start := time.Now().Add(50 * time.Millisecond)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			for i := range jobs {
				due := start.Add(time.Duration(i) * interval)
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				req.Reset()
				req.SetRequestURI(target)
				if header != "" {
					if k, v, ok := cut(header); ok {
						req.Header.Set(k, v)
					}
				}
				err := client.DoTimeout(req, resp, 5*time.Second)
				lat[i] = time.Since(due)
				failed[i] = err != nil || resp.StatusCode() != 200
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	fails := 0
	for _, f := range failed {
		if f {
			fails++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return json.NewEncoder(os.Stdout).Encode(loadResult{Rate: rate, Sent: n, Fail: fails, P50ms: pct(0.50), P99ms: pct(0.99)})
}

func cut(h string) (string, string, bool) {
	for i := 0; i < len(h); i++ {
		if h[i] == ':' {
			v := h[i+1:]
			for len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			return h[:i], v, true
		}
	}
	return "", "", false
}

// fixedRate runs the generator pinned to CPU 0 as a child process.
func fixedRate(o options, target, header string, rate float64, conns int) (loadResult, error) {
	self, err := os.Executable()
	if err != nil {
		return loadResult{}, err
	}
	args := []string{"-loadgen", target, "-rate", strconv.FormatFloat(rate, 'f', 0, 64),
		"-duration", o.duration.String(), "-connections", strconv.Itoa(conns)}
	if header != "" {
		args = append(args, "-header", header)
	}
	out, err := exec.Command("taskset", append([]string{"-c", "0", self}, args...)...).Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("fixed-rate load on %s: %w", target, err)
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("fixed-rate load on %s: %w (%s)", target, err, out)
	}
	return r, nil
}
