package filter

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk/proxywasm"
)

// recorder is a root and HTTP context noting every hook it gets.
type recorder struct {
	DefaultRootContext
	DefaultHTTPContext
	log    *[]string
	id     uint32
	action Action
	config string
}

func (r *recorder) note(s string) { *r.log = append(*r.log, s) }

func (r *recorder) OnPluginStart(b []byte) bool {
	r.note("configure " + string(b))
	r.config = string(b)
	return string(b) != "refuse"
}
func (r *recorder) OnTick()               { r.note("tick") }
func (r *recorder) OnQueueReady(q uint32) { r.note("queue") }
func (r *recorder) OnPluginDone() bool    { r.note("plugin done"); return false }
func (r *recorder) NewHTTPContext(id uint32) HTTPContext {
	if r.config == "none" {
		return nil
	}
	return &recorder{log: r.log, id: id, action: Pause}
}
func (r *recorder) OnHTTPRequestHeaders(n int, eos bool) Action {
	r.note("request headers")
	if n != 3 || !eos {
		r.note("bad arguments")
	}
	return r.action
}
func (r *recorder) OnHTTPResponseBody(n int, eos bool) Action {
	r.note("response body")
	return r.action
}
func (r *recorder) OnHTTPStreamDone()                         { r.note("stream done") }
func (r *recorder) OnHTTPCallResponse(id uint32, h, b, t int) { r.note("responder") }

func TestDispatch(t *testing.T) {
	var log []string
	defer func(read func(proxywasm.BufferType, uint32, uint32) ([]byte, proxywasm.Status),
		call func(string, [][2]string, []byte, uint32) (uint32, proxywasm.Status)) {
		readBuffer, httpCall, running = read, call, std
	}(readBuffer, httpCall)
	readBuffer = func(bt proxywasm.BufferType, start, max uint32) ([]byte, proxywasm.Status) {
		if bt != proxywasm.PluginConfiguration {
			return nil, proxywasm.StatusBadArgument
		}
		return []byte("conf")[:max], proxywasm.StatusOK
	}
	var next uint32 = 7
	httpCall = func(string, [][2]string, []byte, uint32) (uint32, proxywasm.Status) {
		next++
		return next, proxywasm.StatusOK
	}

	d := newDispatcher(func(id uint32) RootContext { return &recorder{log: &log, id: id} })
	d.contextCreate(1, 0)
	if d.vmStart(1, 0) != 1 || d.configure(1, 4) != 1 {
		t.Fatal("the root refused its start")
	}
	if got := d.vmStart(1, 3); got != 0 {
		t.Error("an unreadable VM configuration was accepted")
	}
	d.contextCreate(2, 1)
	if a := d.requestHeaders(2, 3, 1); a != uint32(Pause) {
		t.Errorf("request headers action %d, want the context's Pause", a)
	}
	// calls: one with a callback, one answered by the context itself
	var got []int
	if _, st := DispatchHTTPCall("up", nil, nil, 10, func(h, b, tr int) { got = []int{h, b, tr} }); st != proxywasm.StatusOK {
		t.Fatal(st)
	}
	d.httpCallResponse(2, 8, 1, 2, 3)
	d.httpCallResponse(2, 99, 0, 0, 0)
	if !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("callback got %v", got)
	}
	if a := d.requestBody(2, 5, 1); a != uint32(Continue) {
		t.Errorf("default request body action %d", a)
	}
	d.responseBody(2, 5, 1)
	d.log(2)
	d.tick(1)
	d.queueReady(1, 4)
	if d.done(2) != 1 || d.done(1) != 0 {
		t.Error("proxy_on_done: want 1 for a stream, the root's OnPluginDone for a root")
	}
	d.remove(2)
	want := []string{"configure conf", "request headers", "responder", "response body", "stream done", "tick", "queue", "plugin done"}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("hooks ran %q\nwant %q", log, want)
	}
	// a call pending when its context goes is forgotten
	d.contextCreate(3, 1)
	DispatchHTTPCall("up", nil, nil, 10, func(int, int, int) { t.Error("a deleted context's callback ran") })
	d.remove(3)
	if len(d.callouts) != 0 || len(d.streams) != 0 {
		t.Errorf("after delete: %d callouts, %d streams", len(d.callouts), len(d.streams))
	}

	// a refused configuration, a root without HTTP contexts
	d.contextCreate(10, 0)
	readBuffer = func(proxywasm.BufferType, uint32, uint32) ([]byte, proxywasm.Status) {
		return []byte("refuse"), proxywasm.StatusOK
	}
	if d.configure(10, 6) != 0 {
		t.Error("a refused configuration was accepted")
	}
	readBuffer = func(proxywasm.BufferType, uint32, uint32) ([]byte, proxywasm.Status) {
		return []byte("none"), proxywasm.StatusOK
	}
	d.configure(10, 4)
	d.contextCreate(11, 10)
	if d.requestHeaders(11, 0, 0) != uint32(Continue) || d.responseTrailers(11, 0) != uint32(Continue) {
		t.Error("a nil HTTP context did not let the request through")
	}
}

func TestDispatchFaults(t *testing.T) {
	tests := []struct {
		name, want string
		run        func(d *dispatcher)
	}{
		{"no root registered", "SetRootContext", func(d *dispatcher) { d.newRoot = nil; d.contextCreate(1, 0) }},
		{"unknown parent", "unknown root 5", func(d *dispatcher) { d.contextCreate(2, 5) }},
		{"unknown stream", "unknown HTTP context 9", func(d *dispatcher) { d.requestHeaders(9, 0, 0) }},
		{"unknown root", "unknown root context 4", func(d *dispatcher) { d.tick(4) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.want) {
					t.Errorf("panic %v, want one mentioning %q", r, tc.want)
				}
			}()
			tc.run(newDispatcher(func(uint32) RootContext { return DefaultRootContext{} }))
		})
	}
}

// TestJSONConfig: a configuration that decodes fills the value and is
// accepted; one that does not is refused, leaving the value as it was.
func TestJSONConfig(t *testing.T) {
	var c struct {
		Header string `json:"header"`
	}
	if !JSONConfig([]byte(`{"header":"x-a"}`), &c) || c.Header != "x-a" {
		t.Fatalf("good config: %+v", c)
	}
	if JSONConfig([]byte(`{"header":`), &c) || c.Header != "x-a" {
		t.Fatalf("bad config accepted or changed: %+v", c)
	}
}
