package sdk_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

type greetConfig struct {
	Header string `json:"header" default:"x-greeting"`
	Name   string `json:"name" required:"true"`
}

var greet = sdk.Plugin[greetConfig]{
	Version:  "2.1.0",
	Priority: 900,
	Access: func(k sdk.Kong, c *greetConfig) error {
		if k.Request().Header("x-deny") != "" {
			sdk.JSONExit(k, 403, map[string]string{"message": "denied"}, nil)
			return nil
		}
		k.ServiceRequest().SetHeader(c.Header, "hello "+c.Name)
		return nil
	},
	HeaderFilter: func(k sdk.Kong, c *greetConfig) error {
		if k.Request().Header("x-panic") != "" {
			panic("boom")
		}
		if k.Request().Header("x-fail") != "" {
			return errors.New("failed on purpose")
		}
		k.Response().SetHeader("X-Greeted", c.Name)
		return nil
	},
}

func TestProvideRunsNatively(t *testing.T) {
	pp, err := greet.Provide("greet")
	if err != nil {
		t.Fatal(err)
	}
	d := pp.Definition
	if d.Name != "greet" || d.Version != "2.1.0" || d.Priority != 900 || len(d.Phases) != 2 ||
		d.Phases[0] != hostabi.PhaseAccess || d.Phases[1] != hostabi.PhaseHeaderFilter {
		t.Fatalf("definition %+v", d)
	}
	if _, err := plugintest.TryProvided(pp, map[string]any{}); err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("a configuration without name: %v", err)
	}
	inst := plugintest.NewProvided(t, pp, map[string]any{"name": "ada"})
	if _, ok := inst.(hostabi.BodyFilterer); ok {
		t.Error("an instance without a body filter implements BodyFilterer (the proxy would buffer)")
	}
	res := plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/"))
	if res.Err != nil || res.Exited || res.UpstreamHeader("x-greeting") != "hello ada" {
		t.Errorf("access: err %v exited %v header %q", res.Err, res.Exited, res.UpstreamHeader("x-greeting"))
	}
	res = plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("X-Deny", "1"))
	if !res.Exited || res.Status != 403 || res.ExitMessage() != "denied" {
		t.Errorf("exit: %+v", res)
	}
	res = plugintest.Run(t, inst, hostabi.PhaseHeaderFilter, plugintest.NewRequest("GET", "/"))
	if res.RespHeader("x-greeted") != "ada" {
		t.Errorf("header_filter: %v", res.ResponseHeader)
	}
	res = plugintest.Run(t, inst, hostabi.PhaseHeaderFilter, plugintest.NewRequest("GET", "/").WithHeader("X-Fail", "1"))
	if res.Err == nil || res.Err.Error() != "failed on purpose" {
		t.Errorf("error: %v", res.Err)
	}
	res = plugintest.Run(t, inst, hostabi.PhaseHeaderFilter, plugintest.NewRequest("GET", "/").WithHeader("X-Panic", "1"))
	if res.Err == nil || !strings.Contains(res.Err.Error(), "header_filter: panic: boom") || res.Panic != nil {
		t.Errorf("a handler's panic is the phase's error: %v %v", res.Err, res.Panic)
	}
}

func TestOutOfPhaseCallFails(t *testing.T) {
	p := sdk.Plugin[struct{}]{Log: func(k sdk.Kong, _ *struct{}) error {
		k.Response().Exit(200, nil, nil)
		return nil
	}}
	pp, err := p.Provide("late-exit")
	if err != nil {
		t.Fatal(err)
	}
	res := plugintest.Run(t, plugintest.NewProvided(t, pp, nil), hostabi.PhaseLog, plugintest.NewRequest("GET", "/"))
	var pe *hostabi.PhaseError
	if !errors.As(res.Err, &pe) || res.Exited {
		t.Errorf("exit in log: err %v, exited %v", res.Err, res.Exited)
	}
}

func TestBufferingPhases(t *testing.T) {
	p := sdk.Plugin[struct{}]{
		Response: func(k sdk.Kong, _ *struct{}) error { return nil },
		BodyFilter: func(k sdk.Kong, _ *struct{}, chunk []byte, eof bool) ([]byte, error) {
			return []byte(strings.ToUpper(string(chunk))), nil
		},
	}
	pp, err := p.Provide("upper")
	if err != nil {
		t.Fatal(err)
	}
	inst := plugintest.NewProvided(t, pp, nil)
	if _, ok := inst.(hostabi.Responder); !ok {
		t.Error("no Responder")
	}
	req := plugintest.NewRequest("GET", "/")
	req.ServiceBody = []byte("quiet")
	res := plugintest.Run(t, inst, hostabi.PhaseBodyFilter, req)
	if string(res.ResponseBody) != "QUIET" {
		t.Errorf("body %q", res.ResponseBody)
	}
}

func TestTypedHelpers(t *testing.T) {
	type point struct{ X, Y int }
	p := sdk.Plugin[struct{}]{Access: func(k sdk.Kong, _ *struct{}) error {
		k.Cache().Set("n", float64(41), 0) // what a number read back from a Wasm host is
		n, ok := sdk.CacheGet[int](k, "n")
		if !ok || n != 41 {
			return errors.New("CacheGet")
		}
		if _, ok := sdk.CacheGet[int](k, "missing"); ok {
			return errors.New("CacheGet of a miss")
		}
		k.Ctx().Shared().Set("pt", map[string]any{"X": 1.0, "Y": 2.0})
		pt, ok := sdk.CtxGet[point](k, "pt")
		if !ok || pt != (point{1, 2}) {
			return errors.New("CtxGet")
		}
		loads := 0
		for i := 0; i < 2; i++ {
			v, err := sdk.GetOrLoad(k, "pt2", 0, func() (point, error) { loads++; return point{3, 4}, nil })
			if err != nil || v != (point{3, 4}) {
				return errors.New("GetOrLoad")
			}
		}
		if loads != 1 {
			return errors.New("GetOrLoad loaded twice")
		}
		_, err := sdk.GetOrLoad(k, "bad", 0, func() (int, error) { return 0, errors.New("no source") })
		if err == nil || err.Error() != "no source" {
			return errors.New("GetOrLoad error")
		}
		return nil
	}}
	pp, err := p.Provide("typed")
	if err != nil {
		t.Fatal(err)
	}
	if res := plugintest.Run(t, plugintest.NewProvided(t, pp, nil), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/")); res.Err != nil {
		t.Error(res.Err)
	}
}

func TestDescribe(t *testing.T) {
	d, err := greet.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "2.1.0" || d.Priority != 900 || strings.Join(d.Phases, ",") != "access,header_filter" ||
		d.Config["type"] != "record" {
		t.Errorf("description %+v", d)
	}
	if _, err := (&sdk.Plugin[greetConfig]{}).Describe(); err == nil || !strings.Contains(err.Error(), "no phase handler") {
		t.Errorf("a plugin without handlers: %v", err)
	}
	type bad struct {
		C chan int `json:"c"`
	}
	if _, err := (sdk.Plugin[bad]{Access: func(sdk.Kong, *bad) error { return nil }}).Provide("bad"); err == nil {
		t.Error("Provide of an unschemable configuration")
	}
	if d, _ := (&sdk.Plugin[struct{}]{Log: func(sdk.Kong, *struct{}) error { return nil }}).Describe(); d.Version != "1.0.0" {
		t.Errorf("default version %q", d.Version)
	}
}
