// Command filter is a proxy-wasm filter for the conformance tests, written
// with the standard Go toolchain (GOOS=wasip1) on sdk/proxywasm and its
// filter package (root and HTTP contexts): its JSON configuration says
// what it does to each request.
package main

import (
	"encoding/json"
	"strconv"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
	"github.com/gatehouse/gatehouse/sdk/proxywasm/filter"
)

// config is what the filter does.
type config struct {
	AddReq      map[string]string `json:"add_req"`
	ReplaceReq  map[string]string `json:"replace_req"`
	RemoveReq   []string          `json:"remove_req"`
	AddResp     map[string]string `json:"add_resp"`
	ReplaceResp map[string]string `json:"replace_resp"`
	RemoveResp  []string          `json:"remove_resp"`
	// SetReqPairs replaces the request's header map with its own pairs
	// minus x-drop plus x-pairs.
	SetReqPairs  bool     `json:"set_req_pairs"`
	ReqBodyAdd   string   `json:"req_body_suffix"`
	RespBodyAdd  string   `json:"resp_body_prefix"`
	DenyHeader   string   `json:"deny_header"`
	Props        []string `json:"props"`
	Trap         string   `json:"trap"` // a callback's name, or "by-header"
	Tick         uint32   `json:"tick_ms"`
	CountKey     string   `json:"count_key"`
	EchoMethodTo string   `json:"echo_method_to"`
	// CallUpstream (host:port): the request waits (Pause) on a call of
	// GET CallPath?user=<x-user>; a 200 adds its body as x-call and
	// resumes, anything else (or a failed call) answers 403.
	CallUpstream string `json:"call_upstream"`
	CallPath     string `json:"call_path"`
	// LogCountKey counts the proxy_on_log calls in shared data.
	LogCountKey string `json:"log_count_key"`
	// Queue: the root context registers this shared queue; a request's
	// x-msg is enqueued, and proxy_on_queue_ready stores the last item
	// in shared data under "last-msg".
	Queue string `json:"queue"`
	// Metric: a counter each request increments; the response carries
	// its value as x-metric.
	Metric string `json:"metric"`
}

// root is the filter's root context: the configuration, the tick, the
// queue.
type root struct {
	filter.DefaultRootContext
	cfg      config
	metricID uint32
}

// stream is a request's context.
type stream struct {
	filter.DefaultHTTPContext
	*root
}

func main() {}

func init() {
	filter.SetRootContext(func(uint32) filter.RootContext { return &root{} })
}

func (r *root) OnPluginStart(b []byte) bool {
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.cfg); err != nil {
			pw.Log(pw.LogError, "bad configuration: "+err.Error())
			return false
		}
	}
	if r.cfg.Tick > 0 {
		pw.SetTickPeriod(r.cfg.Tick)
	}
	if r.cfg.Metric != "" {
		id, st := pw.DefineMetric(pw.MetricCounter, r.cfg.Metric)
		if st != pw.StatusOK {
			return false
		}
		r.metricID = id
	}
	if r.cfg.Queue != "" {
		if _, st := pw.RegisterQueue(r.cfg.Queue); st != pw.StatusOK {
			return false
		}
	}
	return true
}

func (r *root) NewHTTPContext(uint32) filter.HTTPContext { return &stream{root: r} }

func (r *root) OnTick() { increment(r.cfg.CountKey) }

func (r *root) OnQueueReady(id uint32) {
	for {
		msg, st := pw.Dequeue(id)
		if st != pw.StatusOK {
			return
		}
		pw.SetSharedData("last-msg", msg, 0)
	}
}

// increment adds one to the count under key, with CAS.
func increment(key string) {
	for {
		v, cas, _ := pw.SharedData(key)
		n, _ := strconv.Atoi(string(v))
		if pw.SetSharedData(key, []byte(strconv.Itoa(n+1)), cas) == pw.StatusOK {
			return
		}
	}
}

func change(mt pw.MapType, add, replace map[string]string, remove []string) {
	for k, v := range add {
		pw.AddHeader(mt, k, v)
	}
	for k, v := range replace {
		pw.ReplaceHeader(mt, k, v)
	}
	for _, k := range remove {
		pw.RemoveHeader(mt, k)
	}
}

// trap panics in the callback named by the configuration when the request
// has an x-trap header; with trap "by-header", in the callback x-trap
// names.
func (s *stream) trap(where string) {
	v, st := pw.Header(pw.RequestHeaders, "x-trap")
	if st == pw.StatusOK && (s.cfg.Trap == where || s.cfg.Trap == "by-header" && v == where) {
		panic("trap in " + where)
	}
}

func (s *stream) OnHTTPRequestHeaders(n int, eos bool) filter.Action {
	s.trap("request_headers")
	cfg := &s.cfg
	if cfg.DenyHeader != "" {
		if v, st := pw.Header(pw.RequestHeaders, cfg.DenyHeader); st == pw.StatusOK {
			pw.SendLocalResponse(403, []byte("denied: "+v), [][2]string{{"x-why", "filter"}, {"content-type", "text/plain"}})
			return filter.Pause
		}
	}
	change(pw.RequestHeaders, cfg.AddReq, cfg.ReplaceReq, cfg.RemoveReq)
	if cfg.SetReqPairs {
		pairs, _ := pw.Headers(pw.RequestHeaders)
		var out [][2]string
		for _, p := range pairs {
			if p[0] != "x-drop" {
				out = append(out, p)
			}
		}
		out = append(out, [2]string{"x-pairs", strconv.Itoa(len(out))})
		pw.SetHeaders(pw.RequestHeaders, out)
	}
	if msg, st := pw.Header(pw.RequestHeaders, "x-msg"); cfg.Queue != "" && st == pw.StatusOK {
		id, st := pw.ResolveQueue("", cfg.Queue)
		if st != pw.StatusOK || pw.Enqueue(id, []byte(msg)) != pw.StatusOK {
			panic("enqueue failed")
		}
	}
	if s.metricID != 0 && pw.IncrementMetric(s.metricID, 1) != pw.StatusOK {
		panic("increment failed")
	}
	if cfg.EchoMethodTo != "" {
		m, _ := pw.Header(pw.RequestHeaders, ":method")
		pw.AddHeader(pw.RequestHeaders, cfg.EchoMethodTo, m)
	}
	if cfg.CountKey != "" {
		v, _, _ := pw.SharedData(cfg.CountKey)
		pw.AddHeader(pw.RequestHeaders, "x-count", string(v))
	}
	if cfg.CallUpstream != "" {
		user, _ := pw.Header(pw.RequestHeaders, "x-user")
		hs := [][2]string{{":method", "GET"}, {":path", cfg.CallPath + "?user=" + user}, {":authority", cfg.CallUpstream}, {"x-from", "filter"}}
		if _, st := filter.DispatchHTTPCall(cfg.CallUpstream, hs, []byte("ping"), 2000, s.onCallResponse); st != pw.StatusOK {
			panic("proxy_http_call failed")
		}
		return filter.Pause
	}
	if now, st := pw.Now(); st != pw.StatusOK || now == 0 {
		panic("no time")
	}
	return filter.Continue
}

// onCallResponse decides the paused request: a 200 adds the answer as
// x-call and resumes it, anything else answers 403.
func (s *stream) onCallResponse(nHeaders, bodySize, nTrailers int) {
	s.trap("http_call_response")
	status, _ := pw.Header(pw.HTTPCallResponseHeaders, ":status")
	var body []byte
	if bodySize > 0 {
		body, _ = pw.Buffer(pw.HTTPCallResponseBody, 0, uint32(bodySize))
	}
	if status != "200" {
		pw.SendLocalResponse(403, []byte("call said "+status+": "+string(body)), nil)
		return
	}
	pw.AddHeader(pw.RequestHeaders, "x-call", string(body))
	pw.ContinueStream(0)
}

func (s *stream) OnHTTPRequestBody(size int, eos bool) filter.Action {
	s.trap("request_body")
	if s.cfg.ReqBodyAdd != "" {
		pw.SetBuffer(pw.RequestBody, uint32(size), 0, []byte(s.cfg.ReqBodyAdd))
	}
	return filter.Continue
}

func (s *stream) OnHTTPResponseHeaders(n int, eos bool) filter.Action {
	s.trap("response_headers")
	change(pw.ResponseHeaders, s.cfg.AddResp, s.cfg.ReplaceResp, s.cfg.RemoveResp)
	if s.metricID != 0 {
		v, _ := pw.Metric(s.metricID)
		pw.AddHeader(pw.ResponseHeaders, "x-metric", strconv.FormatUint(v, 10))
	}
	for _, p := range s.cfg.Props {
		v, st := pw.Property(p)
		if st != pw.StatusOK {
			v = []byte("(none)")
		}
		pw.AddHeader(pw.ResponseHeaders, "x-prop-"+p, string(v))
	}
	return filter.Continue
}

func (s *stream) OnHTTPResponseBody(size int, eos bool) filter.Action {
	s.trap("response_body")
	if s.cfg.RespBodyAdd != "" {
		b, _ := pw.Buffer(pw.ResponseBody, 0, uint32(size))
		pw.SetBuffer(pw.ResponseBody, 0, uint32(size), append([]byte(s.cfg.RespBodyAdd), b...))
	}
	return filter.Continue
}

func (s *stream) OnHTTPStreamDone() {
	s.trap("log")
	if s.cfg.LogCountKey != "" {
		increment(s.cfg.LogCountKey)
	}
}
