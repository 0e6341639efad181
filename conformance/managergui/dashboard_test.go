package managergui_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse/conformance/browser"
)

// TestDashboardTraffic: without the prometheus plugin the dashboard says
// so and links to its form; the plugin enabled through that link (status
// code and latency metrics on), N proxied requests make the dashboard's
// proxied total grow by at least N, with the 2xx class and the latency
// figures shown.
func TestDashboardTraffic(t *testing.T) {
	w := newWalk(t)
	w.mustAPI(http.StatusCreated, "POST", "/services", map[string]any{"name": "counted", "host": w.upstreamHost(), "port": w.upstreamPort()}, nil)
	w.mustAPI(http.StatusCreated, "POST", "/services/counted/routes", map[string]any{"name": "counted-route", "paths": []string{"/counted"}}, nil)
	w.proxyStatus("/counted/x", nil, http.StatusOK)

	w.Step("prometheus off: said, with a link",
		w.open("#/"),
		browser.ExpectText("#traffic-off", "The prometheus plugin is not enabled"),
		chromedp.Click(chromedp.CSS("#traffic-enable")),
		browser.Ready("#/plugins/new?name=prometheus"),
		browser.Labelled("prometheus form"),
		browser.Check(`main input[name="config.status_code_metrics"]`),
		browser.Check(`main input[name="config.latency_metrics"]`),
		submit(),
		browser.ExpectText("main .banner.ok", "Created"),
	)
	// The plugin is live once the proxy's requests show up in /metrics.
	w.http.Eventually("proxied requests counted", func() (browser.Answer, error) {
		if a, err := w.http.Try("GET", w.proxy+"/counted/warm", nil, nil); err != nil || a.Status != http.StatusOK {
			return a, err
		}
		return w.http.Try("GET", "/metrics", nil, nil)
	}, func(a browser.Answer) bool {
		return a.Status == http.StatusOK && strings.Contains(string(a.Body), `kong_http_requests_total{code="200"`)
	})

	// The request metrics live once per process (as once per node in
	// Kong): earlier tests' requests are in them, so figures are compared
	// before and after.
	before, before2xx := w.dashboardTotal("before")
	const n = 7
	for i := 0; i < n; i++ {
		if a := w.http.Do("GET", fmt.Sprintf("%s/counted/%d", w.proxy, i), nil, nil); a.Status != http.StatusOK {
			t.Fatalf("proxied request %d: %d", i, a.Status)
		}
	}
	after, after2xx := w.dashboardTotal("after")
	if after < before+n {
		t.Fatalf("dashboard's proxied total went from %d to %d after %d requests", before, after, n)
	}
	if after2xx < before2xx+n {
		t.Fatalf("dashboard's 2xx went from %d to %d after %d requests answered 200", before2xx, after2xx, n)
	}
	var latency, requests string
	w.Step("latency",
		browser.Into(chromedp.Text(chromedp.CSS("#traffic-latency-request")), &latency),
		browser.Into(chromedp.Text(chromedp.CSS("#traffic-requests")), &requests),
	)
	w.keep("dashboard-traffic")
	if !strings.HasPrefix(latency, "average ") || !strings.Contains(latency, "p95 ≤ ") {
		t.Fatalf("request latency shown %q", latency)
	}
	if v, err := strconv.Atoi(requests); err != nil || v < after {
		t.Fatalf("requests on every listener %q, want at least the %d proxied", requests, after)
	}
}

// dashboardTotal opens the dashboard afresh and reads its proxied total
// and its 2xx class.
func (w *walk) dashboardTotal(label string) (total, ok2xx int) {
	w.t.Helper()
	var s, s2 string
	w.Step("dashboard total "+label,
		browser.OpenAfresh(w.gui, "#/"),
		chromedp.WaitVisible(chromedp.CSS("#traffic-2xx")),
		browser.Into(chromedp.Text(chromedp.CSS("#traffic-total")), &s),
		browser.Into(chromedp.Text(chromedp.CSS("#traffic-2xx")), &s2),
	)
	total, err := strconv.Atoi(s)
	if err != nil {
		w.t.Fatalf("dashboard's proxied total %q: %v", s, err)
	}
	if ok2xx, err = strconv.Atoi(s2); err != nil {
		w.t.Fatalf("dashboard's 2xx %q: %v", s2, err)
	}
	return total, ok2xx
}

// jsTraffic is what metrics.js traffic() returns (Infinity as null).
type jsTraffic struct {
	Requests *float64           `json:"requests"`
	Proxied  *float64           `json:"proxied"`
	Classes  map[string]float64 `json:"classes"`
	Latency  map[string]struct {
		Count   float64  `json:"count"`
		Average float64  `json:"average"`
		P95     *float64 `json:"p95"`
	} `json:"latency"`
}

// runTraffic runs the page's parser and sums on text in the browser.
func (w *walk) runTraffic(step, text string) (jsTraffic, int) {
	w.t.Helper()
	in, _ := json.Marshal(text)
	var out struct {
		T jsTraffic `json:"t"`
		N int       `json:"n"`
	}
	w.Step(step, browser.Into(chromedp.Evaluate[struct {
		T jsTraffic `json:"t"`
		N int       `json:"n"`
	}](fmt.Sprintf(`import('/js/metrics.js').then((m) => { const s = m.parseMetrics(%s); return { t: m.traffic(s), n: s.length }; })`, in),
		chromedp.EvalAwaitPromise), &out))
	return out.T, out.N
}

// TestMetricsParser holds the page's Prometheus text parser
// (runtime/manager/assets/js/metrics.js) to Prometheus's own parser
// (expfmt) on the node's real /metrics after traffic, and to a table of
// hostile lines.
func TestMetricsParser(t *testing.T) {
	w := newWalk(t)
	w.mustAPI(http.StatusCreated, "POST", "/services", map[string]any{"name": "p", "host": w.upstreamHost(), "port": w.upstreamPort()}, nil)
	w.mustAPI(http.StatusCreated, "POST", "/services/p/routes", map[string]any{"name": "p-route", "paths": []string{"/p"}}, nil)
	w.mustAPI(http.StatusCreated, "POST", "/plugins", map[string]any{"name": "prometheus", "config": map[string]any{"status_code_metrics": true, "latency_metrics": true}}, nil)
	w.proxyStatus("/p/ok", nil, http.StatusOK)
	for i := 0; i < 5; i++ {
		w.http.Do("GET", w.proxy+"/nowhere", nil, nil) // 404 from Kong: no route, not counted
		w.http.Do("GET", w.proxy+"/p/x", nil, nil)
	}
	text := string(w.http.Eventually("metrics", func() (browser.Answer, error) { return w.http.Try("GET", "/metrics", nil, nil) },
		func(a browser.Answer) bool {
			return a.Status == http.StatusOK && strings.Contains(string(a.Body), "kong_request_latency_ms_count")
		}).Body)

	// Prometheus's parser on the same text.
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt: %v", err)
	}
	// Every sample line of the node's exposition parses.
	samples := 0
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			samples++
		}
	}
	var proxied, requests, count, sum float64
	classes := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			switch name {
			case "kong_http_requests_total":
				v := m.GetCounter().GetValue()
				proxied += v
				for _, l := range m.Label {
					if l.GetName() == "code" {
						classes[l.GetValue()[:1]+"xx"] += v
					}
				}
			case "kong_nginx_requests_total":
				requests += m.GetGauge().GetValue()
			case "kong_request_latency_ms":
				count += float64(m.GetHistogram().GetSampleCount())
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	w.Step("page loaded", w.open("#/"))
	got, n := w.runTraffic("parse the node's /metrics", text)
	if n != samples {
		t.Errorf("page parsed %d samples of %d sample lines", n, samples)
	}
	if got.Proxied == nil || *got.Proxied != proxied || proxied < 6 {
		t.Errorf("proxied: page %v, expfmt %v", got.Proxied, proxied)
	}
	if got.Requests == nil || *got.Requests != requests {
		t.Errorf("requests: page %v, expfmt %v", got.Requests, requests)
	}
	if fmt.Sprint(got.Classes) != fmt.Sprint(classes) {
		t.Errorf("classes: page %v, expfmt %v", got.Classes, classes)
	}
	l, ok := got.Latency["request"]
	if !ok || l.Count != count || math.Abs(l.Average-sum/count) > 1e-9 {
		t.Errorf("request latency: page %+v, expfmt count %v sum %v", l, count, sum)
	}

	// Hostile and odd lines: what parses is read exactly, the rest skipped.
	tests := []struct {
		name, text string
		samples    int
		proxied    float64
		classes    string
	}{
		{"escapes in label values", `kong_http_requests_total{code="200",service="a\"b\\c\nd}"} 2` + "\n", 1, 2, "map[2xx:2]"},
		{"timestamp and CRLF", "kong_http_requests_total{code=\"503\"} 4 1700000000000\r\n", 1, 4, "map[5xx:4]"},
		{"exponent, trailing comma", `kong_http_requests_total{code="201",} 1e1` + "\n", 1, 10, "map[2xx:10]"},
		{"unterminated label value skipped", `kong_http_requests_total{code="200} 5` + "\nkong_http_requests_total{code=\"404\"} 1\n", 1, 1, "map[4xx:1]"},
		{"duplicate label skipped", `kong_http_requests_total{code="200",code="500"} 5` + "\n", 0, 0, "map[]"},
		{"garbage values skipped", "kong_http_requests_total{code=\"200\"} 0x10\nkong_http_requests_total{code=\"200\"} 1 2 3\nkong_http_requests_total{code=\"200\"}5\n", 0, 0, "map[]"},
		{"NaN and Inf not summed", "kong_http_requests_total{code=\"200\"} NaN\nkong_http_requests_total{code=\"200\"} +Inf\nkong_http_requests_total{code=\"200\"} 3\n", 3, 3, "map[2xx:3]"},
		{"odd codes", "kong_http_requests_total{code=\"\"} 1\nkong_http_requests_total{code=\"999\"} 1\nkong_http_requests_total 1\n", 3, 3, "map[other:3]"},
		{"comments and blanks", "# HELP kong_http_requests_total x\n\n  # TYPE x counter\n#kong_http_requests_total 9\n", 0, 0, "map[]"},
		{"names Prometheus refuses", "1abc 1\n{code=\"200\"} 1\nkong-http 1\n", 0, 0, "map[]"},
		{"__proto__ label", "kong_http_requests_total{__proto__=\"x\",code=\"200\"} 1\n", 1, 1, "map[2xx:1]"},
	}
	for _, tt := range tests {
		got, n := w.runTraffic("parse: "+tt.name, tt.text)
		var proxied float64
		if got.Proxied != nil {
			proxied = *got.Proxied
		}
		if n != tt.samples || proxied != tt.proxied || fmt.Sprint(got.Classes) != tt.classes {
			t.Errorf("%s: %d samples, proxied %v, classes %v; want %d, %v, %s", tt.name, n, proxied, got.Classes, tt.samples, tt.proxied, tt.classes)
		}
	}

	// Random input built from the format's own characters: the parser
	// never throws, and every sample it returns has a valid name and a
	// number value.
	var bad string
	w.Step("parse: random input", browser.Into(chromedp.Evaluate[string](`import('/js/metrics.js').then((m) => {
		const alphabet = 'ab_:{}=",\\n \t#0123456789.eE+-InfNa\r';
		let seed = 12345;
		const rnd = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };
		for (let i = 0; i < 3000; i++) {
			let t = '';
			const len = rnd(80);
			for (let j = 0; j < len; j++) t += alphabet[rnd(alphabet.length)];
			let out;
			try { out = m.parseMetrics(t); m.traffic(out); } catch (e) { return 'throws on ' + JSON.stringify(t) + ': ' + e; }
			for (const s of out) {
				if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(s.name) || typeof s.value !== 'number') return 'bad sample from ' + JSON.stringify(t);
			}
		}
		return '';
	})`, chromedp.EvalAwaitPromise), &bad))
	if bad != "" {
		t.Fatal(bad)
	}
}
