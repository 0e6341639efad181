// Package tour is a plugin that calls every operation of the PDK and
// records what each returned, in kong.ctx.shared (one JSON object per
// phase) and in kong.log lines. The SDK's tests run it natively and
// compiled to Wasm on the same fake requests: whatever differs is the
// SDK's or the Wasm host's encoding of an operation.
package tour

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk"
)

// Config selects the misbehaviour tested besides the tour.
type Config struct {
	// Misbehave: none when absent, "exit-in-log" (an operation outside its
	// phases), "panic" (a Go panic in access), "error" (an error from
	// access), and, for the Wasm build only, "loop" (access never returns)
	// and "alloc" (access allocates without bound).
	Misbehave string `json:"misbehave,omitempty" one_of:"exit-in-log,panic,error,loop,alloc"`
	// Refuse makes Validate refuse the configuration.
	Refuse bool `json:"refuse"`
}

func errText(err error) any {
	if err == nil {
		return nil
	}
	var de *hostabi.DBError
	if errors.As(err, &de) {
		return map[string]any{"code": de.Code, "name": de.Name, "message": de.Message}
	}
	return err.Error()
}

func pair(v any, ok bool) []any { return []any{v, ok} }

// Plugin is the tour.
var Plugin = sdk.Plugin[Config]{
	Version:  "0.1.0",
	Priority: 10,
	Validate: func(c *Config) error {
		if c.Refuse {
			return errors.New("refused on purpose")
		}
		return nil
	},
	Access: func(k sdk.Kong, c *Config) error {
		switch c.Misbehave {
		case "panic":
			panic("tour panics")
		case "error":
			return errors.New("tour fails")
		case "loop":
			for n := 0; ; n++ {
				sink = n
			}
		case "alloc":
			var hoard [][]byte
			for {
				hoard = append(hoard, make([]byte, 8<<20))
				sink = len(hoard)
			}
		}
		o := map[string]any{}
		r := k.Request()
		o["phase"] = k.Phase().String()
		o["scheme"], o["host"], o["port"] = r.Scheme(), r.Host(), r.Port()
		o["fwd"] = []any{r.ForwardedScheme(), r.ForwardedHost(), r.ForwardedPort()}
		o["version"], o["method"], o["path"], o["raw_path"], o["raw_query"] = r.HTTPVersion(), r.Method(), r.Path(), r.RawPath(), r.RawQuery()
		o["arg_a"], o["arg_missing"] = pair(r.QueryArg("a")), pair(r.QueryArg("missing"))
		o["query"] = r.Query()
		o["header"], o["header_missing"] = r.Header("x-one"), r.Header("missing")
		o["values"], o["values_missing"] = r.HeaderValues("x-multi"), r.HeaderValues("missing") == nil
		o["headers"] = r.Headers()
		body, err := r.RawBody()
		o["raw_body"], o["raw_body_err"] = string(body), errText(err)
		args, mime, err := r.Body()
		o["body"] = []any{args, mime, errText(err)}
		o["var_uri"], o["var_nope"] = pair(r.Var("request_uri")), pair(r.Var("nope"))

		cl := k.Client()
		o["client"] = []any{cl.IP(), cl.ForwardedIP(), cl.Port(), cl.ForwardedPort(), cl.Protocol()}
		o["consumer_before"], o["credential_before"] = cl.Consumer(), cl.Credential()
		alice, err := cl.LoadConsumer(k.Context(), "alice", true)
		o["load_alice"], o["load_alice_err"] = alice, errText(err)
		nobody, err := cl.LoadConsumer(k.Context(), "nobody", true)
		o["load_nobody"], o["load_nobody_err"] = nobody == nil, errText(err)
		cred, err := k.Credentials().Credential(k.Context(), "keyauth_credentials", "key", "secret")
		o["cred"], o["cred_err"] = cred, errText(err)
		list, err := k.Credentials().ConsumerCredentials(k.Context(), "keyauth_credentials", sdkID(alice))
		o["creds"], o["creds_err"] = len(list), errText(err)
		cl.Authenticate(alice, cred)
		o["consumer_after"] = cl.Consumer()["username"]

		pc := k.Ctx().Plugin()
		pc.Set("p", []any{"x", 1.0})
		v, ok := pc.Get("p")
		pc.Delete("p")
		_, gone := pc.Get("p")
		o["ctx_plugin"] = []any{v, ok, gone}

		ca := k.Cache()
		ca.Set("tour:k", map[string]any{"n": 1.0}, time.Minute)
		cv, cok := ca.Get("tour:k")
		_, miss := ca.Get("tour:miss")
		ca.Invalidate("tour:k")
		_, afterInv := ca.Get("tour:k")
		loads := 0
		lv, lerr := sdk.GetOrLoad(k, "tour:load", time.Minute, func() (string, error) { loads++; return "loaded", nil })
		lv2, _ := sdk.GetOrLoad(k, "tour:load", time.Minute, func() (string, error) { loads++; return "again", nil })
		_, aerr := sdk.GetOrLoad(k, "tour:fail", time.Minute, func() (int, error) { return 0, errors.New("cannot load") })
		o["cache"] = []any{cv, cok, miss, afterInv, lv, errText(lerr), lv2, loads, errText(aerr)}

		o["node"] = []any{k.Node().ID(), k.Node().Hostname()}
		o["router"] = []any{k.Router().Route(), k.Router().Service(), k.Router().URICaptures()}
		o["trusted"] = []any{k.IP().IsTrusted("10.0.0.1"), k.IP().IsTrusted("192.168.1.1")}
		o["plugin"] = []any{k.Plugin().ID(), k.Plugin().Name()}
		chain, err := k.TLS().ClientCertificateChain()
		o["tls"] = []any{chain, errText(err)}
		res, err := k.HTTP().Do(k.Context(), hostabi.HTTPRequest{Method: "POST", URL: "http://upstream.test/echo",
			Header: map[string][]string{"X-Out": {"1"}}, Body: []byte("ping"), Timeout: 2 * time.Second})
		o["http"] = []any{res.Status, res.Header, string(res.Body), errText(err)}
		o["timer"] = errText(k.Timers().After(time.Second, func(ctx context.Context, h hostabi.HTTP) {
			h.Do(ctx, hostabi.HTTPRequest{Method: "GET", URL: "http://upstream.test/timer"})
		}))
		_, err = k.DB().Select(k.Context(), "consumers", "alice")
		o["db"] = errText(err)

		o["set_upstream"] = errText(k.Service().SetUpstream("nope"))
		o["set_upstream_ok"] = errText(k.Service().SetUpstream("pool"))
		k.Service().SetTarget("target.test", 8080)
		sr := k.ServiceRequest()
		sr.SetScheme("https")
		sr.SetPath("/new")
		sr.SetQuery(map[string][]string{"q": {"1", "2"}})
		sr.SetMethod("PUT")
		sr.SetHeader("X-Set", "s")
		sr.AddHeader("X-Multi", "three")
		sr.ClearHeader("X-One")
		sr.SetHeaders(map[string][]string{"X-Bulk": {"b"}})
		sr.SetRawBody([]byte("raw"))
		o["set_body"] = errText(sr.SetBody(map[string]any{"j": "v"}, "application/json"))
		sr.EnableBuffering()

		lg := k.Log()
		lg.Info("tour info", "key", "value", "n", 2)
		lg.Warn("tour warn")
		lg.SetSerializeValue("tour.a", "b")
		o["serialize_mode"] = errText(lg.SetSerializeValueMode("tour.c", 1, "bogus"))

		resp := k.Response()
		resp.SetHeader("X-Resp", "r")
		resp.AddHeader("X-Resp-Multi", "1")
		resp.AddHeader("X-Resp-Multi", "2")
		resp.ClearHeader("X-Resp-Multi")
		o["exited"] = resp.Exited()
		k.Ctx().Shared().Set("access", o)
		return nil
	},
	HeaderFilter: func(k sdk.Kong, c *Config) error {
		o := map[string]any{"phase": k.Phase().String()}
		resp := k.Response()
		resp.SetStatus(202)
		o["status"], o["header"], o["source"] = resp.Status(), resp.Header("x-upstream"), resp.Source()
		o["headers"] = resp.Headers()
		sr := k.ServiceResponse()
		o["service"] = []any{sr.Status(), sr.Header("x-upstream"), sr.Headers()}
		o["exited"] = resp.Exited()
		shared, _ := k.Ctx().Shared().Get("access")
		o["saw_access"] = shared != nil
		k.Ctx().Shared().Set("header_filter", o)
		return nil
	},
	BodyFilter: func(k sdk.Kong, c *Config, chunk []byte, eof bool) ([]byte, error) {
		o := map[string]any{"chunk": string(chunk), "eof": eof, "raw": string(k.Response().RawBody()),
			"service_raw": string(k.ServiceResponse().RawBody())}
		k.Ctx().Shared().Set("body_filter", o)
		return []byte(strings.ToUpper(string(chunk))), nil
	},
	Log: func(k sdk.Kong, c *Config) error {
		if c.Misbehave == "exit-in-log" {
			k.Response().Exit(200, nil, nil)
			return nil
		}
		s := k.Log().Serialize()
		req, _ := s["request"].(map[string]any)
		k.Ctx().Shared().Set("log", map[string]any{"method": req["method"], "uri": req["uri"], "tour": s["tour"]})
		return nil
	},
}

// sink keeps the misbehaving loops from being optimized away.
var sink int

func sdkID(e sdk.Entity) string {
	id, _ := e["id"].(string)
	return id
}
