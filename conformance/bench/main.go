// Command bench measures Gatehouse against nginx side by side on this
// machine (`make bench`). Everything runs on loopback, pinned so the
// comparison is fair on two cores: the upstream (nginx serving a fixed 1 KiB
// body) and the load generator (wrk) on CPU 0, the proxy under test on
// CPU 1 (GOMAXPROCS=1 for Go, worker_processes 1 for nginx). Each scenario
// runs nginx as a reverse proxy (the baseline), a bare Fiber forwarder (the
// ceiling for our stack) and Gatehouse, alternating over several rounds, and
// reports the medians of the per-round ratios.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
)

type options struct {
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	connections string
	gobench     string
	gatehouse   string
	out         string
	scenarios   string
	quick       bool
	tableOnly   bool
	from        string
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 5, "rounds per scenario (proxies alternate within a round)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured load per run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each run")
	flag.StringVar(&o.connections, "connections", "16,50,256", "keep-alive connections, comma-separated: every scenario is measured at each")
	flag.StringVar(&o.gobench, "gobench", "", "`go test -bench` output whose figures join the targets table (make bench writes it)")
	flag.StringVar(&o.gatehouse, "gatehouse", "bin/gatehouse", "Gatehouse binary")
	flag.StringVar(&o.out, "out", "bench-results.json", "JSON results file")
	flag.BoolVar(&o.quick, "quick", false, "skip the fixed-rate latency runs and the idle-memory measure")
	flag.StringVar(&o.scenarios, "scenarios", "no-plugins,key-auth+rate-limiting,key-auth,key-auth+acl,request-transformer,lua-pre-function,wasm-header-rewrite,http-wasm-add-header,proxy-wasm-add-header", "scenarios to run, comma-separated (a scenario's baselines run with it, listed or not)")
	flag.BoolVar(&o.tableOnly, "table-only", false, "run no proxies: print the targets table of the -gobench output alone (and of -from's scenarios)")
	flag.StringVar(&o.from, "from", "", "with -table-only: a results file of an earlier run whose scenarios join the table (judged again)")
	loadgen := flag.String("loadgen", "", "internal: run the fixed-rate generator against this URL")
	rate := flag.Float64("rate", 0, "internal: requests per second for -loadgen")
	header := flag.String("header", "", "internal: a request header for -loadgen")
	flag.Parse()
	if *loadgen != "" {
		conns, err := parseConnections(o.connections)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		if err := runLoadgen(*loadgen, *header, *rate, o.duration, conns[0]); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// proc is a started server.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string
}

func (p *proc) stop() {
	if p != nil && p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %v", addr, timeout)
}

// pinned starts a command on one CPU.
func pinned(cpu int, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

func startNginx(dir, name string, cpu int, server string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	prefix := filepath.Join(dir, name)
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
error_log %[1]s/logs/error.log error;
pid %[1]s/logs/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
  keepalive_requests 1000000;
  %[2]s
}
`, prefix, strings.ReplaceAll(server, "LISTEN", addr))
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := pinned(cpu, nil, "nginx", "-p", prefix, "-c", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, addr: addr}
	if err := waitListening(addr, 5*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w (see %s/logs/error.log)", name, err, prefix)
	}
	return p, nil
}

// result is one wrk run, with the CPU the proxy used during it.
type result struct {
	RPS   float64 `json:"requests_per_second"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	// Requests is the number of requests wrk completed.
	Requests int64 `json:"requests"`
	// CPUus is the proxy's CPU time (user and system, every thread)
	// during the run divided by Requests, in microseconds.
	CPUus float64 `json:"cpu_us_per_request"`
}

var (
	rpsRE = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reqRE = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in `)
	latRE = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// wrkSeconds is wrk's -d: whole seconds, at least one.
func wrkSeconds(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s) + "s"
}

// wrk drives target with conns keep-alive connections for d. When pid is
// not 0, the CPU time that process uses during the run, divided by the
// requests wrk completed, is the result's CPU per request.
func wrk(target string, header string, conns int, d time.Duration, pid int) (result, error) {
	args := []string{"-t1", "-c" + strconv.Itoa(conns), "-d" + wrkSeconds(d), "--latency"}
	if header != "" {
		args = append(args, "-H", header)
	}
	args = append(args, target)
	var cpu0 time.Duration
	if pid != 0 {
		var err error
		if cpu0, err = cpuTime(pid); err != nil {
			return result{}, fmt.Errorf("CPU time of %s: %w", target, err)
		}
	}
	out, err := pinned(0, nil, "wrk", args...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %v\n%s", target, err, out)
	}
	var cpu1 time.Duration
	if pid != 0 {
		if cpu1, err = cpuTime(pid); err != nil {
			return result{}, fmt.Errorf("CPU time of %s: %w", target, err)
		}
	}
	r, err := parseWrk(out)
	if err != nil {
		return r, fmt.Errorf("wrk %s: %w", target, err)
	}
	if pid != 0 {
		if r.Requests <= 0 {
			return r, fmt.Errorf("wrk %s: no requests completed:\n%s", target, out)
		}
		r.CPUus = float64((cpu1 - cpu0).Nanoseconds()) / 1000 / float64(r.Requests)
	}
	return r, nil
}

// parseWrk reads wrk's --latency output: requests per second, the request
// count, p50 and p99 (in ms). Error responses are an error.
func parseWrk(out []byte) (result, error) {
	var r result
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("output without Requests/sec:\n%s", out)
	}
	var err error
	if r.RPS, err = strconv.ParseFloat(string(m[1]), 64); err != nil {
		return r, fmt.Errorf("Requests/sec %q: %w", m[1], err)
	}
	if m := reqRE.FindSubmatch(out); m != nil {
		if r.Requests, err = strconv.ParseInt(string(m[1]), 10, 64); err != nil {
			return r, fmt.Errorf("request count %q: %w", m[1], err)
		}
	}
	for _, lm := range latRE.FindAllSubmatch(out, -1) {
		v, err := strconv.ParseFloat(string(lm[2]), 64)
		if err != nil {
			return r, fmt.Errorf("latency %q: %w", lm[2], err)
		}
		switch string(lm[3]) {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if string(lm[1]) == "50" {
			r.P50ms = v
		} else {
			r.P99ms = v
		}
	}
	if bytes.Contains(out, []byte("Non-2xx or 3xx responses")) {
		return r, fmt.Errorf("error responses:\n%s", out)
	}
	return r, nil
}

// admin talks to Gatehouse's Admin API.
type admin struct{ base string }

func (a admin) do(method, path string, form url.Values) error {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return nil
}

// postJSON posts body as JSON (for entities with nested arrays, such as
// filter chains).
func (a admin) postJSON(path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", path, res.StatusCode, out)
	}
	return nil
}

func (a admin) post(path string, kv ...string) error {
	v := url.Values{}
	for _, p := range kv {
		k, val, _ := strings.Cut(p, "=")
		v.Add(k, val)
	}
	return a.do("POST", path, v)
}

// scenario configures Gatehouse (from empty) and says what header wrk sends.
type scenario struct {
	name   string
	header string
	// env, when set, prepares what the node needs before it starts (in
	// dir) and returns its extra environment.
	env   func(dir string) ([]string, error)
	setup func(a admin, upstream string) error
	// baselines name scenarios this one is compared with: for each, one
	// more Gatehouse, configured (environment and setup) as that
	// scenario, alternates with this one in every round (so machine drift
	// cancels), giving the median per-round ratio
	// gatehouse/gatehouse-<baseline> and its spread over the rounds.
	baselines []string
	// upstreamSees, when set, is the value of X-Bench the upstream must
	// receive through this scenario's Gatehouse: checked once before the
	// load, so a plugin that stopped doing its work cannot look fast.
	upstreamSees string
}

// keyAuth is the key-auth scenario's configuration: consumer bench (group
// bench, key bench-key), key-auth on every request.
func keyAuth(a admin, up string) error {
	if err := baseRoute(a, up); err != nil {
		return err
	}
	for _, step := range [][]string{
		{"/consumers", "username=bench"},
		{"/consumers/bench/key-auth", "key=bench-key"},
		{"/consumers/bench/acls", "group=bench"},
		{"/plugins", "name=key-auth"},
	} {
		if err := a.post(step[0], step[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func baseRoute(a admin, upstream string) error {
	if err := a.post("/services", "name=bench", "url=http://"+upstream+"/"); err != nil {
		return err
	}
	return a.post("/services/bench/routes", "name=bench", "paths=/")
}

var scenarios = []scenario{
	{name: "no-plugins", setup: baseRoute},
	{name: "key-auth+rate-limiting", header: "apikey: bench-key", setup: func(a admin, up string) error {
		if err := baseRoute(a, up); err != nil {
			return err
		}
		for _, step := range [][]string{
			{"/consumers", "username=bench"},
			{"/consumers/bench/key-auth", "key=bench-key"},
			{"/plugins", "name=key-auth"},
			{"/plugins", "name=rate-limiting", "config.second=100000000", "config.policy=local"},
		} {
			if err := a.post(step[0], step[1:]...); err != nil {
				return err
			}
		}
		return nil
	}},
	// The acl plugin's cost: its decision comes from the shipped Rego
	// policy, cached by the consumer's groups (issue 13: at most 5 % over
	// key-auth alone).
	{name: "key-auth", header: "apikey: bench-key", setup: keyAuth},
	{name: "key-auth+acl", header: "apikey: bench-key", baselines: []string{"key-auth"}, setup: func(a admin, up string) error {
		if err := keyAuth(a, up); err != nil {
			return err
		}
		return a.post("/plugins", "name=acl", "config.allow=bench")
	}},
	{name: "request-transformer", upstreamSees: "1", setup: func(a admin, up string) error {
		if err := baseRoute(a, up); err != nil {
			return err
		}
		return a.post("/plugins", "name=request-transformer", "config.add.headers=X-Bench:1", "config.remove.headers=X-Remove")
	}},
	// The Lua host on every request: Kong's pre-function (a bundled Lua
	// plugin) doing request-transformer's work in Lua.
	{name: "lua-pre-function", upstreamSees: "1", setup: func(a admin, up string) error {
		if err := baseRoute(a, up); err != nil {
			return err
		}
		return a.post("/plugins", "name=pre-function",
			`config.access=kong.service.request.set_header("X-Bench", "1") kong.service.request.clear_header("X-Remove")`)
	}},
	// The Wasm host on every request: examples/header-rewrite, compiled
	// with the SDK, doing request-transformer's work (and marking the
	// response in header_filter).
	{name: "wasm-header-rewrite", env: wasmPlugin("wasm-header-rewrite", "examples/header-rewrite"), upstreamSees: "1",
		setup: func(a admin, up string) error {
			if err := baseRoute(a, up); err != nil {
				return err
			}
			return a.post("/plugins", "name=wasm-header-rewrite", "config.header=X-Bench", "config.value=1", "config.drop=X-Remove")
		}},
	// The http-wasm host on every request: an http-wasm guest
	// (testdata/hw-add-header, Go on the raw http_handler imports) in
	// wasm_plugins_dir, as a global plugin, adding one request header.
	{name: "http-wasm-add-header", env: wasmPlugin("http-wasm-add-header", "conformance/bench/testdata/hw-add-header"), upstreamSees: "1",
		setup: func(a admin, up string) error {
			if err := baseRoute(a, up); err != nil {
				return err
			}
			return a.postJSON("/plugins", map[string]any{"name": "http-wasm-add-header",
				"config": map[string]any{"config": "X-Bench:1"}})
		}},
	// The proxy-wasm host on every request, as Kong users run filters: a
	// filter (testdata/pw-add-header, Go on sdk/proxywasm) in
	// wasm_filters_path with wasm=on, attached by a route filter chain,
	// adding one request header. Compared in every round with the native
	// request-transformer (which also clears a header the requests do not
	// carry) and with the http-wasm guest doing the same work (issue 12).
	{name: "proxy-wasm-add-header", env: wasmFilter("pw-add-header", "conformance/bench/testdata/pw-add-header"),
		baselines: []string{"request-transformer", "http-wasm-add-header"}, upstreamSees: "1",
		setup: func(a admin, up string) error {
			if err := baseRoute(a, up); err != nil {
				return err
			}
			return a.postJSON("/routes/bench/filter-chains", map[string]any{"name": "bench",
				"filters": []any{map[string]any{"name": "pw-add-header", "config": "X-Bench:1"}}})
		}},
}

// wasmFilter builds the proxy-wasm filter in src (relative to the
// repository's root) as name.wasm in a wasm_filters_path of its own and
// turns wasm on.
func wasmFilter(name, src string) func(dir string) ([]string, error) {
	return func(dir string) ([]string, error) {
		filters, err := buildModule(src, filepath.Join(dir, "wasm-filters"), name)
		if err != nil {
			return nil, err
		}
		return []string{"GATEHOUSE_WASM=on", "GATEHOUSE_WASM_FILTERS_PATH=" + filters}, nil
	}
}

// wasmPlugin builds the Go plugin in src (relative to the repository's
// root, where make bench runs) to Wasm as name.wasm in a wasm_plugins_dir
// of its own, and enables it.
func wasmPlugin(name, src string) func(dir string) ([]string, error) {
	return func(dir string) ([]string, error) {
		plugins, err := buildModule(src, filepath.Join(dir, "wasm-plugins"), name)
		if err != nil {
			return nil, err
		}
		// The defaults apply (wasm_timeout 100 ms): a pool that grows on
		// the request path configures its new instances under the longer
		// instantiation limit.
		return []string{"GATEHOUSE_PLUGINS=bundled," + name, "GATEHOUSE_WASM_PLUGINS_DIR=" + plugins}, nil
	}
}

// buildModule builds the Go guest in src to Wasm as folder/name.wasm and
// returns folder.
func buildModule(src, folder, name string) (string, error) {
	built, err := wasmbuild.Build(src)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(built)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return "", err
	}
	return folder, os.WriteFile(filepath.Join(folder, name+".wasm"), b, 0o644)
}

// scenarioNamed finds a scenario by name.
func scenarioNamed(name string) (scenario, bool) {
	for _, sc := range scenarios {
		if sc.name == name {
			return sc, true
		}
	}
	return scenario{}, false
}

// startScenario starts a Gatehouse prepared and configured as sc and, when
// sc says what the upstream must receive, checks that it does.
func startScenario(o options, dir, upstream string, sc scenario) (*proc, error) {
	var env []string
	if sc.env != nil {
		var err error
		if env, err = sc.env(dir); err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	gh, adm, err := startGatehouse(o, dir, upstream, env...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sc.name, err)
	}
	if err := sc.setup(adm, upstream); err != nil {
		gh.stop()
		return nil, fmt.Errorf("%s: configuring Gatehouse: %w", sc.name, err)
	}
	time.Sleep(200 * time.Millisecond) // the snapshot follows the last change
	if sc.upstreamSees != "" {
		if err := checkUpstreamSees(gh.addr, sc.header, sc.upstreamSees, 10*time.Second); err != nil {
			gh.stop()
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	return gh, nil
}

// checkUpstreamSees asks the upstream, through the proxy at addr, for the
// X-Bench it received (its /bench-check location answers with it) until it
// is want or the timeout passes.
func checkUpstreamSees(addr, header, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var got string
	for {
		req, err := http.NewRequest("GET", "http://"+addr+"/bench-check", nil)
		if err != nil {
			return err
		}
		if k, v, ok := strings.Cut(header, ":"); ok {
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		if res, err := http.DefaultClient.Do(req); err != nil {
			got = err.Error()
		} else {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			got = fmt.Sprintf("%d %q", res.StatusCode, b)
			if res.StatusCode == 200 && string(b) == want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the upstream should receive X-Bench: %s through the proxy, /bench-check answered %s", want, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startGatehouse(o options, dir, upstream string, extraEnv ...string) (*proc, admin, error) {
	proxyAddr, err := freeAddr()
	if err != nil {
		return nil, admin{}, err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return nil, admin{}, err
	}
	prefix, err := os.MkdirTemp(dir, "gatehouse-")
	if err != nil {
		return nil, admin{}, err
	}
	cmd := pinned(1, append([]string{"GOMAXPROCS=1", "GATEHOUSE_PREFIX=" + prefix, "GATEHOUSE_PROXY_LISTEN=" + proxyAddr,
		"GATEHOUSE_ADMIN_LISTEN=" + adminAddr, "GATEHOUSE_STATUS_LISTEN=off", "GATEHOUSE_ADMIN_GUI_LISTEN=off", "GATEHOUSE_LOG_LEVEL=error"}, extraEnv...), o.gatehouse, "start")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, admin{}, err
	}
	p := &proc{name: "gatehouse", cmd: cmd, addr: proxyAddr}
	if err := waitListening(adminAddr, 10*time.Second); err != nil {
		p.stop()
		return nil, admin{}, err
	}
	return p, admin{base: "http://" + adminAddr}, nil
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// ConnResult is a scenario's figures at one connection count.
type ConnResult struct {
	Connections int                 `json:"connections"`
	Rounds      map[string][]result `json:"rounds"`
	// RPS and CPU are, per proxy, requests per second and CPU
	// microseconds per request over the rounds.
	RPS map[string]Figure `json:"requests_per_second"`
	CPU map[string]Figure `json:"cpu_us_per_request"`
	// Ratios are the per-round ratios of this scenario's Gatehouse to
	// each other proxy of the round ("gatehouse/ceiling req/s"); for CPU
	// the inverse, the other's CPU per request over Gatehouse's, so that
	// for both higher is better and one target applies.
	Ratios map[string]Figure `json:"ratios"`
}

// ScenarioResult is one scenario's figures, as written to the JSON file.
type ScenarioResult struct {
	Scenario      string       `json:"scenario"`
	ByConnections []ConnResult `json:"by_connections"`
	RSSMiB        float64      `json:"gatehouse_rss_mib"`
	// BaselineRSSMiB is each baseline Gatehouse's resident memory after
	// the rounds.
	BaselineRSSMiB map[string]float64 `json:"baseline_rss_mib,omitempty"`
	// HalfRate is the fixed-rate latency at half of this Gatehouse's
	// median maximum rate (at HalfRateConnections), per proxy and round,
	// and P99Ratio the per-round Gatehouse p99 over nginx's.
	HalfRateConnections int                     `json:"half_rate_connections,omitempty"`
	HalfRate            map[string][]loadResult `json:"half_rate,omitempty"`
	P99Ratio            Figure                  `json:"p99_ratio_gatehouse_nginx"`
}

// connResult runs o.rounds rounds of every proxy at conns connections.
func connResult(o options, conns int, procs []*proc, headers map[*proc]string) (ConnResult, error) {
	cr := ConnResult{Connections: conns, Rounds: map[string][]result{}, RPS: map[string]Figure{},
		CPU: map[string]Figure{}, Ratios: map[string]Figure{}}
	rps, cpu := map[string][]float64{}, map[string][]float64{}
	ratios := map[string][]float64{}
	for round := 0; round < o.rounds; round++ {
		this := map[string]result{}
		for _, p := range procs {
			target := "http://" + p.addr + "/"
			if _, err := wrk(target, headers[p], conns, o.warmup, 0); err != nil {
				return cr, err
			}
			r, err := wrk(target, headers[p], conns, o.duration, p.cmd.Process.Pid)
			if err != nil {
				return cr, err
			}
			cr.Rounds[p.name] = append(cr.Rounds[p.name], r)
			rps[p.name] = append(rps[p.name], r.RPS)
			cpu[p.name] = append(cpu[p.name], r.CPUus)
			this[p.name] = r
		}
		gh := this["gatehouse"]
		for _, p := range procs {
			if p.name == "gatehouse" {
				continue
			}
			other := this[p.name]
			ratios["gatehouse/"+p.name+" req/s"] = append(ratios["gatehouse/"+p.name+" req/s"], gh.RPS/other.RPS)
			ratios["gatehouse/"+p.name+" cpu"] = append(ratios["gatehouse/"+p.name+" cpu"], other.CPUus/gh.CPUus)
		}
	}
	for k, v := range rps {
		cr.RPS[k] = newFigure(v)
	}
	for k, v := range cpu {
		cr.CPU[k] = newFigure(v)
	}
	for k, v := range ratios {
		cr.Ratios[k] = newFigure(v)
	}
	return cr, nil
}

// halfRate measures p99 at half of Gatehouse's median maximum rate, for
// nginx and Gatehouse alternating over the rounds.
func halfRate(o options, res *ScenarioResult, cr ConnResult, nginx, gh *proc, header string) error {
	rate := cr.RPS["gatehouse"].Median / 2
	if rate < 1 {
		return fmt.Errorf("%s: no maximum rate to halve", res.Scenario)
	}
	res.HalfRateConnections = cr.Connections
	res.HalfRate = map[string][]loadResult{}
	var ratios []float64
	for round := 0; round < o.rounds; round++ {
		n, err := fixedRate(o, "http://"+nginx.addr+"/", "", rate, cr.Connections)
		if err != nil {
			return err
		}
		g, err := fixedRate(o, "http://"+gh.addr+"/", header, rate, cr.Connections)
		if err != nil {
			return err
		}
		res.HalfRate["nginx-proxy"] = append(res.HalfRate["nginx-proxy"], n)
		res.HalfRate["gatehouse"] = append(res.HalfRate["gatehouse"], g)
		if n.P99ms > 0 {
			ratios = append(ratios, g.P99ms/n.P99ms)
		}
	}
	res.P99Ratio = newFigure(ratios)
	return nil
}

// parseConnections reads -connections: a comma-separated list of
// positive counts.
func parseConnections(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-connections: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// fmtFigure prints a figure as median [min–max ±spread %], with noisy
// marked.
func fmtFigure(f Figure, format string) string {
	if !f.measured() {
		return "not measured"
	}
	s := fmt.Sprintf(format, f.Median)
	if sp := f.spread(format); sp != "" && sp != "one run" {
		s += " [" + sp + "]"
	}
	if f.Noisy {
		s += fmt.Sprintf(" noisy (±%.1f %%)", f.SpreadPct)
	}
	return s
}

func run(o options) error {
	conns, err := parseConnections(o.connections)
	if err != nil {
		return err
	}
	var gb goBench
	if o.gobench != "" {
		f, err := os.Open(o.gobench)
		if err != nil {
			return fmt.Errorf("-gobench: %w", err)
		}
		gb, err = parseGoBench(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("-gobench %s: %w", o.gobench, err)
		}
	}
	if o.tableOnly {
		var earlier []ScenarioResult
		if o.from != "" {
			data, err := os.ReadFile(o.from)
			if err != nil {
				return fmt.Errorf("-from: %w", err)
			}
			var res struct {
				Scenarios []ScenarioResult `json:"scenarios"`
			}
			if err := json.Unmarshal(data, &res); err != nil {
				return fmt.Errorf("-from %s: %w", o.from, err)
			}
			earlier = res.Scenarios
		}
		rows := targetRows(earlier, gb, o.gobench != "")
		fmt.Print(formatTargets(rows))
		return writeJSON(o.out, map[string]any{"targets": rows, "noise_limit_pct": noiseLimit})
	}
	var missing []string
	for _, tool := range []string{"nginx", "wrk", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		pkgs := strings.ReplaceAll(strings.Join(missing, " "), "taskset", "util-linux")
		return fmt.Errorf("missing %s: run `apt-get install %s` first", strings.Join(missing, ", "), pkgs)
	}
	if _, err := os.Stat(o.gatehouse); err != nil {
		return fmt.Errorf("no Gatehouse binary at %s: run `make build` first", o.gatehouse)
	}
	wanted := map[string]bool{}
	for _, s := range strings.Split(o.scenarios, ",") {
		s = strings.TrimSpace(s)
		if _, ok := scenarioNamed(s); !ok {
			return fmt.Errorf("-scenarios: no scenario %q", s)
		}
		wanted[s] = true
	}
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	body := strings.Repeat("x", 1024)
	// /bench-check (only asked by checkUpstreamSees, never under load)
	// answers with the X-Bench the upstream received.
	upstream, err := startNginx(dir, "upstream", 0, `server { listen LISTEN; location / { default_type text/plain; return 200 "`+body+`"; }
    location = /bench-check { default_type text/plain; return 200 "$http_x_bench"; } }`)
	if err != nil {
		return err
	}
	defer upstream.stop()
	nginx, err := startNginx(dir, "nginx-proxy", 1, `upstream backend { server `+upstream.addr+`; keepalive 64; }
  server { listen LISTEN; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }`)
	if err != nil {
		return err
	}
	defer nginx.stop()
	fwdBin := filepath.Join(dir, "forwarder")
	if out, err := exec.Command("go", "build", "-o", fwdBin, "./conformance/bench/forwarder").CombinedOutput(); err != nil {
		return fmt.Errorf("building the forwarder: %v\n%s", err, out)
	}
	fwdAddr, _ := freeAddr()
	fwdCmd := pinned(1, []string{"GOMAXPROCS=1"}, fwdBin, "-listen", fwdAddr, "-upstream", upstream.addr)
	fwdCmd.Stderr = os.Stderr
	if err := fwdCmd.Start(); err != nil {
		return err
	}
	forwarder := &proc{name: "ceiling", cmd: fwdCmd, addr: fwdAddr}
	defer forwarder.stop()
	if err := waitListening(fwdAddr, 5*time.Second); err != nil {
		return err
	}

	fmt.Printf("machine: %d CPUs; upstream nginx and wrk on CPU 0, proxy under test on CPU 1; connections %v, %v per run after %v warm-up, %d rounds; a figure is noisy when a round is more than ±%.0f %% from the median\n",
		numCPU(), conns, o.duration, o.warmup, o.rounds, noiseLimit)
	var all []ScenarioResult
	for _, sc := range scenarios {
		if !wanted[sc.name] {
			continue
		}
		res, err := runScenario(o, conns, dir, upstream.addr, nginx, forwarder, sc)
		if err != nil {
			return err
		}
		all = append(all, res)
	}
	var idle float64
	if !o.quick {
		if idle, err = idleRSS(o, dir, upstream.addr, 1000); err != nil {
			return err
		}
		fmt.Printf("idle RSS with 1,000 routes: %.1f MiB\n", idle)
	}
	rows := targetRows(all, gb, o.gobench != "")
	fmt.Println()
	fmt.Print(formatTargets(rows))
	return writeJSON(o.out, map[string]any{"scenarios": all, "idle_rss_1000_routes_mib": idle, "targets": rows,
		"connections": conns, "duration_s": o.duration.Seconds(), "warmup_s": o.warmup.Seconds(), "rounds": o.rounds,
		"noise_limit_pct": noiseLimit})
}

// writeJSON writes the results file.
func writeJSON(path string, v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	fmt.Println("wrote", path)
	return nil
}

// runScenario measures one scenario: its Gatehouse, its baselines (and
// no-plugins, for every scenario with plugins), nginx and the forwarder,
// alternating in every round, at every connection count.
func runScenario(o options, conns []int, dir, upstream string, nginx, forwarder *proc, sc scenario) (ScenarioResult, error) {
	res := ScenarioResult{Scenario: sc.name}
	gh, err := startScenario(o, dir, upstream, sc)
	if err != nil {
		return res, err
	}
	gh.name = "gatehouse"
	procs := []*proc{nginx, forwarder, gh}
	headers := map[*proc]string{gh: sc.header}
	var bases []*proc
	defer func() {
		gh.stop()
		for _, b := range bases {
			b.stop()
		}
	}()
	baselines := sc.baselines
	if sc.name != "no-plugins" {
		baselines = append([]string{"no-plugins"}, baselines...)
	}
	for _, bname := range baselines {
		bsc, ok := scenarioNamed(bname)
		if !ok {
			return res, fmt.Errorf("%s: no baseline scenario %q", sc.name, bname)
		}
		base, err := startScenario(o, dir, upstream, bsc)
		if err != nil {
			return res, fmt.Errorf("%s: baseline: %w", sc.name, err)
		}
		base.name = "gatehouse-" + bname
		bases = append(bases, base)
		procs = append(procs, base)
		headers[base] = bsc.header
	}
	for _, c := range conns {
		cr, err := connResult(o, c, procs, headers)
		if err != nil {
			return res, fmt.Errorf("%s at %d connections: %w", sc.name, c, err)
		}
		res.ByConnections = append(res.ByConnections, cr)
		fmt.Printf("%s, %d connections (median [min–max ±spread]):\n", sc.name, c)
		for _, p := range procs {
			fmt.Printf("  %-32s %s r/s  %s µs CPU/req  p99 %.2f ms\n", p.name, fmtFigure(cr.RPS[p.name], "%.0f"),
				fmtFigure(cr.CPU[p.name], "%.2f"), median(p99s(cr.Rounds[p.name])))
		}
		for _, p := range procs {
			if p == gh {
				continue
			}
			fmt.Printf("  gatehouse/%-22s req/s %s  CPU/req %s\n", p.name, fmtFigure(cr.Ratios["gatehouse/"+p.name+" req/s"], "%.3f"),
				fmtFigure(cr.Ratios["gatehouse/"+p.name+" cpu"], "%.3f"))
		}
	}
	if len(bases) > 0 {
		res.BaselineRSSMiB = map[string]float64{}
	}
	for _, b := range bases {
		res.BaselineRSSMiB[b.name] = rssMiB(b.cmd.Process.Pid)
	}
	res.RSSMiB = rssMiB(gh.cmd.Process.Pid)
	if !o.quick {
		cr := res.ByConnections[0]
		for _, c := range res.ByConnections {
			if c.Connections == 50 {
				cr = c
			}
		}
		if err := halfRate(o, &res, cr, nginx, gh, sc.header); err != nil {
			return res, err
		}
		fmt.Printf("  at %.0f r/s (half of Gatehouse's maximum, %d connections): p99 nginx %.2f ms, gatehouse %.2f ms; gatehouse/nginx %s\n",
			cr.RPS["gatehouse"].Median/2, cr.Connections, median(loadP99s(res.HalfRate["nginx-proxy"])),
			median(loadP99s(res.HalfRate["gatehouse"])), fmtFigure(res.P99Ratio, "%.2f"))
	}
	fmt.Printf("  rss gatehouse %.1f MiB\n", res.RSSMiB)
	return res, nil
}

func p99s(rs []result) []float64 {
	var v []float64
	for _, r := range rs {
		v = append(v, r.P99ms)
	}
	return v
}

func loadP99s(rs []loadResult) []float64 {
	var v []float64
	for _, r := range rs {
		v = append(v, r.P99ms)
	}
	return v
}

// idleRSS configures n routes and reads Gatehouse's resident memory once it
// settles.
func idleRSS(o options, dir, upstream string, n int) (float64, error) {
	gh, adm, err := startGatehouse(o, dir, upstream)
	if err != nil {
		return 0, err
	}
	defer gh.stop()
	if err := adm.post("/services", "name=idle", "url=http://"+upstream+"/"); err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		if err := adm.post("/services/idle/routes", fmt.Sprintf("paths=/r%d", i), fmt.Sprintf("hosts=h%d.example.com", i%20)); err != nil {
			return 0, err
		}
	}
	time.Sleep(2 * time.Second)
	rss := rssMiB(gh.cmd.Process.Pid)
	if rss == 0 {
		return 0, errors.New("could not read Gatehouse's RSS")
	}
	return rss, nil
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}
