package plugintest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	basicauth "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	*testing.T
	errors, fatals []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatal(args ...any) { r.fatals = append(r.fatals, fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

type allPhases struct{ calls []hostabi.Phase }

func (a *allPhases) Rewrite(k hostabi.Kong) error  { a.calls = append(a.calls, k.Phase()); return nil }
func (a *allPhases) Access(k hostabi.Kong) error   { a.calls = append(a.calls, k.Phase()); return nil }
func (a *allPhases) Response(k hostabi.Kong) error { a.calls = append(a.calls, k.Phase()); return nil }
func (a *allPhases) HeaderFilter(k hostabi.Kong) error {
	a.calls = append(a.calls, k.Phase())
	return nil
}
func (a *allPhases) Log(k hostabi.Kong) error { a.calls = append(a.calls, k.Phase()); return nil }
func (a *allPhases) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	a.calls = append(a.calls, k.Phase())
	return bytes.ToUpper(chunk), nil
}

func TestPhases(t *testing.T) {
	p := &allPhases{}
	env := plugintest.NewEnv()
	req := &plugintest.Request{ServiceBody: []byte("body")}
	for _, ph := range []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseResponse,
		hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter, hostabi.PhaseLog} {
		res := env.Run(t, p, ph, req)
		if ph == hostabi.PhaseBodyFilter && string(res.ResponseBody) != "BODY" {
			t.Errorf("body filter output %q", res.ResponseBody)
		}
	}
	if len(p.calls) != 6 || p.calls[5] != hostabi.PhaseLog {
		t.Errorf("calls %v", p.calls)
	}
	rec := &recorder{T: t}
	plugintest.Run(rec, greeter{}, hostabi.PhaseLog, nil)
	if len(rec.fatals) != 1 {
		t.Errorf("missing phase not reported: %v", rec.fatals)
	}
	var np plugintest.ErrNoPhase
	if err := plugintest.Call(env.NewKong(nil), greeter{}, hostabi.PhaseLog); !errors.As(err, &np) {
		t.Errorf("Call error %v", err)
	}
}

func TestPanicIsReported(t *testing.T) {
	rec := &recorder{T: t}
	res := plugintest.Run(rec, pluginFunc(func(hostabi.Kong) error { panic("boom") }), hostabi.PhaseAccess, nil)
	if res.Panic != "boom" || len(rec.errors) != 1 {
		t.Errorf("panic %v errors %v", res.Panic, rec.errors)
	}
}

func TestRequestDefaultsAndReads(t *testing.T) {
	req := plugintest.NewRequest("", "/p?a=1&a=2&flag&e=&sp=x+y%21").WithHeader("X-Multi", "1").WithHeader("x-multi", "2")
	k := plugintest.NewEnv().NewKong(req)
	r := k.Request()
	if r.Method() != "GET" || r.Scheme() != "http" || r.Host() != "example.test" || r.Port() != 8000 || r.Path() != "/p" {
		t.Errorf("defaults %s %s %s %d %s", r.Method(), r.Scheme(), r.Host(), r.Port(), r.Path())
	}
	if v, ok := r.QueryArg("a"); v != "1" || !ok {
		t.Errorf("a = %q %v", v, ok)
	}
	if v, ok := r.QueryArg("flag"); v != "" || !ok {
		t.Errorf("flag = %q %v", v, ok)
	}
	if r.Query()["sp"][0] != "x y!" || len(r.Query()["a"]) != 2 {
		t.Errorf("query %v", r.Query())
	}
	if got := r.Headers()["x-multi"]; !reflect.DeepEqual(got, []string{"1", "2"}) || r.Header("X-MULTI") != "1" {
		t.Errorf("headers %v", r.Headers())
	}
	if got := r.HeaderValues("X-MULTI"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("header values %v", got)
	}
	if got := r.HeaderValues("absent"); got != nil {
		t.Errorf("absent header values %v", got)
	}
	c := k.Client()
	if c.IP() != "127.0.0.1" || c.ForwardedIP() != "127.0.0.1" || c.Protocol() != "http" {
		t.Errorf("client %s %s %s", c.IP(), c.ForwardedIP(), c.Protocol())
	}
}

func TestDecodeBody(t *testing.T) {
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("a", "1")
	_ = w.WriteField("a", "2")
	_ = w.WriteField("b", "x")
	_ = w.Close()
	cases := []struct {
		ct   string
		body []byte
		want map[string]any
		err  bool
	}{
		{"application/json", []byte(`{"n":1.5,"s":"x"}`), map[string]any{"n": jsonNumber("1.5"), "s": "x"}, false},
		{"application/json", []byte(`[1]`), nil, true},
		{"application/json", nil, map[string]any{}, false},
		{"application/x-www-form-urlencoded", []byte("a=1&a=2&f&e="), map[string]any{"a": []any{"1", "2"}, "f": true, "e": ""}, false},
		{w.FormDataContentType(), mp.Bytes(), map[string]any{"a": []any{"1", "2"}, "b": "x"}, false},
		{"text/plain", []byte("x"), nil, true},
		{"", []byte("x"), nil, true},
	}
	for _, c := range cases {
		k := plugintest.NewEnv().NewKong(plugintest.NewRequest("POST", "/").WithBody(c.ct, c.body))
		got, _, err := k.Request().Body()
		if (err != nil) != c.err || (!c.err && fmt.Sprint(got) != fmt.Sprint(c.want)) {
			t.Errorf("%s %q: %v %v, want %v", c.ct, c.body, got, err, c.want)
		}
	}
}

func jsonNumber(s string) any { return json.Number(s) }

func TestServiceRequestRecording(t *testing.T) {
	req := plugintest.NewRequest("POST", "/a?x=1").WithHeader("Keep", "k").WithHeader("Drop", "d").
		WithBody("application/x-www-form-urlencoded", []byte("a=1"))
	k := plugintest.NewEnv().NewKong(req)
	sr := k.ServiceRequest()
	sr.SetHeader("X-Set", "1")
	sr.AddHeader("X-Set", "2")
	sr.ClearHeader("drop")
	sr.SetHeaders(map[string][]string{"Keep": {"k2", "k3"}})
	sr.SetPath("/b")
	sr.SetMethod("PUT")
	sr.SetQuery(map[string][]string{"y": {"2"}})
	if err := sr.SetBody(map[string]any{"b": []any{"1", "2"}}, ""); err != nil {
		t.Fatal(err)
	}
	res := k.Result()
	if res.Method != "PUT" || res.Path != "/b" || res.RawQuery != "y=2" || string(res.Body) != "b=1&b=2" {
		t.Errorf("upstream %s %s %s %q", res.Method, res.Path, res.RawQuery, res.Body)
	}
	want := map[string][]string{"x-set": {"1", "2"}, "keep": {"k2", "k3"}, "content-type": {"application/x-www-form-urlencoded"}}
	if !reflect.DeepEqual(res.Header, want) {
		t.Errorf("headers %v", res.Header)
	}
	if err := sr.SetBody(map[string]any{"j": 1}, "application/json"); err != nil || string(k.Result().Body) != `{"j":1}` {
		t.Errorf("json body %s %v", k.Result().Body, err)
	}
	k.Reset()
	if res := k.Result(); len(res.HeaderOps) != 0 || res.Method != "POST" || res.BodySet {
		t.Errorf("reset: %+v", res)
	}
}

func TestExitAndResponseHeaders(t *testing.T) {
	k := plugintest.NewEnv().NewKong(&plugintest.Request{ServiceHeader: map[string][]string{"Server": {"up"}}})
	k.Response().SetHeader("X-A", "1")
	hostabi.JSONExit(k.Response(), 403, map[string]any{"message": "no"}, map[string]string{"X-B": "2"})
	res := k.Result()
	if !res.Exited || res.Status != 403 || res.ExitMessage() != "no" || res.RespHeader("x-a") != "1" ||
		res.RespHeader("X-B") != "2" || res.RespHeader("server") != "up" || k.Response().Source() != "exit" {
		t.Errorf("%+v", res)
	}
	k.Reset()
	k.Response().Exit(200, []byte("plain"), nil)
	if res := k.Result(); string(res.ExitBody) != "plain" || res.RespHeader("Content-Type") != "" {
		t.Errorf("string body %+v", res)
	}
}

func TestEnvLookups(t *testing.T) {
	env := plugintest.NewEnv()
	c := env.AddConsumer(hostabi.Entity{"username": "u"})
	cred := env.AddCredential(basicauth.CredentialEntity, c, hostabi.Entity{"username": "user", "password": "pw"})
	if cred["password"] != basicauth.HashPassword("pw", c["id"].(string)) {
		t.Error("password not hashed")
	}
	k := env.NewKong(nil)
	ctx := k.Context()
	if got, _ := k.Client().LoadConsumer(ctx, "u", true); got["id"] != c["id"] {
		t.Errorf("by username %v", got)
	}
	if got, _ := k.Client().LoadConsumer(ctx, "u", false); got != nil {
		t.Errorf("username found as id: %v", got)
	}
	if got, _ := k.Credentials().Credential(ctx, "basicauth_credentials", "username", "user"); got["id"] != cred["id"] {
		t.Errorf("credential %v", got)
	}
	if list, _ := k.Credentials().ConsumerCredentials(ctx, "basicauth_credentials", c["id"].(string)); len(list) != 1 {
		t.Errorf("consumer credentials %v", list)
	}
	env.CredentialErr = errors.New("down")
	if _, err := k.Credentials().Credential(ctx, "x", "y", "z"); err == nil {
		t.Error("no error")
	}
	if env.CredentialLookups() != 3 || env.ConsumerLookups() != 2 {
		t.Errorf("lookups %d %d", env.CredentialLookups(), env.ConsumerLookups())
	}
}

func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := plugintest.NewCache(func() time.Time { return now })
	c.Set("a", 1, time.Second)
	if v, ok := c.Get("a"); v != 1 || !ok {
		t.Errorf("get %v %v", v, ok)
	}
	now = now.Add(time.Second)
	if _, ok := c.Get("a"); ok {
		t.Error("not expired")
	}
	var loads atomic.Int32
	load := func() (any, error) { loads.Add(1); time.Sleep(10 * time.Millisecond); return nil, nil }
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = c.GetOrLoad("neg", 0, load) }()
	}
	wg.Wait()
	if loads.Load() != 1 {
		t.Errorf("loads %d", loads.Load())
	}
	if v, ok := c.Get("neg"); v != nil || !ok {
		t.Errorf("negative entry %v %v", v, ok)
	}
	if _, err := c.GetOrLoad("err", 0, func() (any, error) { return nil, errors.New("x") }); err == nil || c.Len() != 1 {
		t.Errorf("error cached: %v len %d", err, c.Len())
	}
	c.Invalidate("neg")
	if c.Len() != 0 {
		t.Errorf("len %d", c.Len())
	}
	env := plugintest.NewEnv()
	env.SetClock(func() time.Time { return now })
	env.NewKong(nil).Cache().Set("k", "v", time.Minute)
	now = now.Add(time.Hour)
	if _, ok := env.Cache().Get("k"); ok {
		t.Error("env clock ignored")
	}
}

func TestConfig(t *testing.T) {
	ps := &store.PluginSchema{Name: "demo", Config: &schema.Schema{Fields: []*schema.Field{
		{Name: "n", Type: schema.Integer, Default: int64(3)},
		{Name: "names", Type: schema.Array, Elements: &schema.Field{Type: schema.String}},
	}}}
	cfg := plugintest.Config(t, ps, map[string]any{"names": []string{"a"}})
	if !reflect.DeepEqual(cfg, map[string]any{"n": int64(3), "names": []any{"a"}}) {
		t.Errorf("cfg %v", cfg)
	}
	if _, errs := plugintest.ValidateConfig(ps, map[string]any{"n": "x", "zzz": 1}); len(errs) != 2 {
		t.Errorf("errors %v", errs)
	}
	rec := &recorder{T: t}
	plugintest.Config(rec, ps, map[string]any{"n": "x"})
	if len(rec.fatals) != 1 {
		t.Errorf("invalid config not reported")
	}
}

func TestNew(t *testing.T) {
	ps := &store.PluginSchema{Name: "demo", Config: &schema.Schema{Fields: []*schema.Field{
		{Name: "n", Type: schema.Integer, Default: int64(3)},
	}}}
	var got map[string]any
	factory := func(cfg map[string]any) (any, error) {
		got = cfg
		if cfg["n"] == int64(0) {
			return nil, errors.New("n must not be 0")
		}
		return greeter{}, nil
	}
	if inst := plugintest.New(t, ps, factory, nil); inst != (greeter{}) || !reflect.DeepEqual(got, map[string]any{"n": int64(3)}) {
		t.Errorf("instance %v from %v", inst, got)
	}
	for _, input := range []map[string]any{{"n": "x"}, {"n": 0}} {
		rec := &recorder{T: t}
		plugintest.New(rec, ps, factory, input)
		if len(rec.fatals) != 1 {
			t.Errorf("%v: fatals %v", input, rec.fatals)
		}
	}
}
