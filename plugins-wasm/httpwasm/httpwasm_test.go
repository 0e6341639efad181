package httpwasm

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/http-wasm/http-wasm-host-go/api/handler"
	"github.com/http-wasm/http-wasm-host-go/tck"
)

// compile compiles wasm as the module name on a fresh runtime.
func compile(t testing.TB, name string, wasm []byte) *wasmhost.Module {
	t.Helper()
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := wasmhost.NewRuntime(context.Background(), wasmhost.Options{CacheDir: cache, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	m, err := rt.Compile(context.Background(), name, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func build(t testing.TB, dir string) []byte {
	t.Helper()
	path, err := wasmbuild.Build("testdata/" + dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLoadTCKGuest: the TCK's guest (TinyGo, a command module whose
// _start enables every feature) is claimed, runs handle_response in the
// response phase (buffer_response granted, trailers not), and takes the
// plugin's config as a json field.
func TestLoadTCKGuest(t *testing.T) {
	m := compile(t, "tck", tck.GuestWASM)
	if !(Flavour{}).Claims(m) {
		t.Fatal("the TCK guest is not claimed")
	}
	p, err := Load(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	def := p.Definition()
	if def.Name != "tck" || def.Priority != DefaultPriority || def.Version != Version {
		t.Fatalf("definition %+v", def)
	}
	if got := hostabi.Phases(def.Phases...); got != hostabi.Phases(hostabi.PhaseAccess, hostabi.PhaseResponse) {
		t.Fatalf("phases %s, want access and response", got)
	}
	if !p.Buffered() {
		t.Fatal("buffer_response enabled in _start did not make the plugin buffered")
	}
	fields := def.Schema["fields"].([]any)
	cfg := fields[len(fields)-1].(map[string]any)["config"].(map[string]any)
	inner := cfg["fields"].([]any)[0].(map[string]any)["config"].(map[string]any)
	if inner["type"] != "json" {
		t.Fatalf("config.config is %v, want type json", inner)
	}
	inst, err := p.New(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.(hostabi.Closer).Close()
	if _, ok := inst.(hostabi.HeaderFilterer); ok {
		t.Fatal("a buffered instance must not run header_filter")
	}
	idle, _ := inst.(*bufferedInstance).c.Pool().Stats()
	if idle != 1 {
		t.Fatalf("%d idle instances after New, want the warm one", idle)
	}
	in, err := inst.(*bufferedInstance).c.Pool().Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := in.Data.(*guest)
	inst.(*bufferedInstance).c.Pool().Put(in)
	if want := handler.FeatureBufferRequest | handler.FeatureBufferResponse; g.features != want {
		t.Fatalf("features %s, want %s (trailers are never granted)", g.features, want)
	}
}

// TestTCKGuestPhases runs TCK cases through plugintest, the access and the
// response phase on one Kong, and checks what reaches the upstream and
// the response.
func TestTCKGuestPhases(t *testing.T) {
	p, err := Load(context.Background(), compile(t, "tck", tck.GuestWASM))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.New(map[string]any{"config": nil})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.(hostabi.Closer).Close()
	env := plugintest.NewEnv()
	tests := []struct {
		name    string
		req     *plugintest.Request
		check   func(t *testing.T, r *plugintest.Result)
		failure string // the guest's x-httpwasm-tck-failed
		exits   bool
	}{
		{name: "set_uri/query/escaping", req: plugintest.NewRequest("GET", "/"), check: func(t *testing.T, r *plugintest.Result) {
			if r.Path != "/disney" || r.RawQuery != "name=chip%26dale" {
				t.Errorf("upstream %s?%s", r.Path, r.RawQuery)
			}
		}},
		{name: "set_method", req: plugintest.NewRequest("GET", "/"), check: func(t *testing.T, r *plugintest.Result) {
			if r.Method != "POST" || !r.MethodSet {
				t.Errorf("upstream method %s", r.Method)
			}
		}},
		{name: "add_header_value/request/existing", req: plugintest.NewRequest("GET", "/").WithHeader("existing-header", "bear"),
			check: func(t *testing.T, r *plugintest.Result) {
				if got := r.UpstreamHeaderValues("existing-header"); len(got) != 2 || got[0] != "bear" || got[1] != "value" {
					t.Errorf("upstream existing-header %q", got)
				}
			}},
		{name: "remove_header/request/existing", req: plugintest.NewRequest("GET", "/").WithHeader("existing-header", "bear"),
			check: func(t *testing.T, r *plugintest.Result) {
				if r.HasUpstreamHeader("existing-header") {
					t.Error("existing-header still goes upstream")
				}
			}},
		{name: "get_method/PUT", req: plugintest.NewRequest("GET", "/"), failure: "get_method: want PUT, have GET"},
		{name: "get_uri/query", req: plugintest.NewRequest("GET", "/animal?name=bear"), failure: "get_uri: want /animal?name=panda, have /animal?name=bear"},
		{name: "read_body/request/small", req: plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte("aaaa")),
			failure: "read_body/request: want 5 bytes, have 4", exits: true},
		{name: "read_body/request/small", req: plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte("aaaaa"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := env.NewKong(tc.req.WithHeader("x-httpwasm-tck-testid", tc.name))
			if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
				t.Fatal(err)
			}
			r := k.Result()
			// the guest answers itself (no next) when a read_body
			// assertion fails; otherwise handle_response runs
			if r.Exited != (tc.exits) {
				t.Fatalf("exited %v (status %d), want %v", r.Exited, r.Status, tc.exits)
			}
			if !r.Exited {
				if err := plugintest.Call(k, inst, hostabi.PhaseResponse); err != nil {
					t.Fatal(err)
				}
				r = k.Result()
			}
			if got := r.RespHeader("x-httpwasm-tck-handled"); got != "1" {
				t.Fatalf("x-httpwasm-tck-handled %q", got)
			}
			if got := r.RespHeader("x-httpwasm-tck-failed"); got != tc.failure {
				t.Fatalf("x-httpwasm-tck-failed %q, want %q", got, tc.failure)
			}
			if tc.failure != "" && r.Status != 500 {
				t.Fatalf("status %d after a failed assertion, want the guest's 500", r.Status)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// TestLoadRejects: modules whose exports break the ABI are refused with
// their file named.
func TestLoadRejects(t *testing.T) {
	tests := []struct {
		dir, want string
	}{
		{"badsig", "badsig.wasm: handle_request must be () -> (i64)"},
		{"noresponse", "noresponse.wasm: an http-wasm guest must export handle_response"},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			m := compile(t, tc.dir, build(t, tc.dir))
			if !(Flavour{}).Claims(m) {
				t.Fatal("a module exporting handle_request is http-wasm's to refuse")
			}
			_, err := (Flavour{}).Plugin(context.Background(), m)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestGuestConfig(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"absent", map[string]any{}, ""},
		{"null", map[string]any{"config": nil}, ""},
		{"string as is", map[string]any{"config": "a=b\x00c"}, "a=b\x00c"},
		{"object as JSON", map[string]any{"config": map[string]any{"b": 1, "a": []any{"x"}}}, `{"a":["x"],"b":1}`},
		{"number as JSON", map[string]any{"config": 2.5}, "2.5"},
		{"bool as JSON", map[string]any{"config": true}, "true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GuestConfig(tc.config)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
	if _, err := GuestConfig(map[string]any{"config": map[string]any{"f": func() {}}}); err == nil {
		t.Fatal("a value JSON cannot encode was accepted")
	}
}

// trapOf runs f and returns the error it trapped with (nil if none).
func trapOf(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var he *wasmhost.HostError
			e, ok := r.(error)
			if !ok || !errors.As(e, &he) {
				panic(r)
			}
			err = he
		}
	}()
	f()
	return nil
}

// TestReadBody: reads continue where the last stopped, and EOF is
// reported when less than the limit remained (a reader filled up to the
// limit or its end).
func TestReadBody(t *testing.T) {
	env := plugintest.NewEnv()
	k := env.NewKong(plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte("hello")))
	type step struct {
		limit uint32
		want  string
		eof   bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"exact", []step{{5, "hello", false}, {5, "", true}}},
		{"larger", []step{{8, "hello", true}, {8, "", true}}},
		{"pieces", []step{{2, "he", false}, {2, "ll", false}, {2, "o", true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := &request{}
			for i, s := range tc.steps {
				b, eof := rs.readBody(k, handler.BodyKindRequest, s.limit)
				if string(b) != s.want || eof != s.eof {
					t.Fatalf("read %d: %q eof=%v, want %q eof=%v", i, b, eof, s.want, s.eof)
				}
			}
		})
	}
	rs := &request{afterNext: true}
	if err := trapOf(func() { rs.readBody(k, handler.BodyKindResponse, 4) }); err == nil ||
		!strings.Contains(err.Error(), "unless buffer_response is enabled") {
		t.Fatalf("response body after next without buffer_response: %v", err)
	}
	if err := trapOf(func() { rs.readBody(k, 7, 4) }); err == nil || !strings.Contains(err.Error(), "unsupported body kind") {
		t.Fatalf("unknown body kind: %v", err)
	}
}

// TestTrailers: trailers read as empty; changing them traps, saying so.
func TestTrailers(t *testing.T) {
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
	rs := &request{}
	for _, kind := range []handler.HeaderKind{handler.HeaderKindRequestTrailers, handler.HeaderKindResponseTrailers} {
		if n := rs.headerNames(k, kind); len(n) != 0 {
			t.Fatalf("trailer names %q", n)
		}
		if v := rs.headerValues(k, kind, "x"); len(v) != 0 {
			t.Fatalf("trailer values %q", v)
		}
		err := trapOf(func() { rs.changeHeader(k, kind, opAdd, "x", "y") })
		if err == nil || !strings.Contains(err.Error(), "trailers are not supported") {
			t.Fatalf("add trailer: %v", err)
		}
	}
	if err := trapOf(func() { rs.headerNames(k, 9) }); err == nil {
		t.Fatal("an unknown header kind did not trap")
	}
}
