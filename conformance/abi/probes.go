package abi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	H "github.com/gatehouse/gatehouse/hostabi"
)

// spec is one in-phase probe; the out-of-phase probe of its operation
// reuses its call.
type spec struct {
	op      H.Op
	phase   H.Phase
	variant string
	want    string
	call    func(k H.Kong) string
	check   func(o Outcome) error
}

const (
	rewrite = H.PhaseRewrite
	access  = H.PhaseAccess
	resp    = H.PhaseResponse
	header  = H.PhaseHeaderFilter
	body    = H.PhaseBodyFilter
	logp    = H.PhaseLog
)

func positive(n int) string {
	if n > 0 {
		return "positive"
	}
	return strconv.Itoa(n)
}

func str(v any, ok bool) string {
	if !ok {
		return "absent"
	}
	return fmt.Sprint(v)
}

func field(e H.Entity, name string) string {
	if e == nil {
		return "nil"
	}
	return fmt.Sprint(e[name])
}

// upstreamHas checks a header the upstream got.
func upstreamHas(name, want string) func(o Outcome) error {
	return func(o Outcome) error {
		got := strings.Join(o.Upstream.Header[strings.ToLower(name)], ",")
		if !o.Proxied || got != want {
			return fmt.Errorf("upstream %s = %q (proxied %v), want %q", name, got, o.Proxied, want)
		}
		return nil
	}
}

func upstreamIs(what string, get func(UpstreamRequest) string, want string) func(o Outcome) error {
	return func(o Outcome) error {
		if got := get(o.Upstream); !o.Proxied || got != want {
			return fmt.Errorf("upstream %s = %q (proxied %v), want %q", what, got, o.Proxied, want)
		}
		return nil
	}
}

func clientHas(name, want string) func(o Outcome) error {
	return func(o Outcome) error {
		if got := strings.Join(o.Header[strings.ToLower(name)], ","); got != want {
			return fmt.Errorf("client header %s = %q, want %q", name, got, want)
		}
		return nil
	}
}

func clientGot(status int, body string) func(o Outcome) error {
	return func(o Outcome) error {
		if o.Status != status || (body != "" && o.Body != body) {
			return fmt.Errorf("client got %d %q, want %d %q", o.Status, o.Body, status, body)
		}
		return nil
	}
}

func all(checks ...func(o Outcome) error) func(o Outcome) error {
	return func(o Outcome) error {
		for _, c := range checks {
			if err := c(o); err != nil {
				return err
			}
		}
		return nil
	}
}

var specs = append(baseSpecs, contextSpec)

var baseSpecs = []spec{
	// kong.request
	{op: H.OpRequestScheme, phase: access, want: "http", call: func(k H.Kong) string { return k.Request().Scheme() }},
	{op: H.OpRequestHost, phase: rewrite, want: RequestHost, call: func(k H.Kong) string { return k.Request().Host() }},
	{op: H.OpRequestPort, phase: logp, want: "positive", call: func(k H.Kong) string { return positive(k.Request().Port()) }},
	{op: H.OpRequestVar, phase: logp, want: "http/positive/same port/false", call: func(k H.Kong) string {
		scheme, _ := k.Request().Var("scheme")
		reqs, _ := k.Request().Var("connection_requests")
		n, _ := strconv.Atoi(reqs)
		port, _ := k.Request().Var("server_port")
		same := "other port"
		if port == strconv.Itoa(k.Request().Port()) {
			same = "same port"
		}
		_, unknown := k.Request().Var("no_such_variable")
		return fmt.Sprintf("%s/%s/%s/%v", scheme, positive(n), same, unknown)
	}},
	{op: H.OpRequestForwardedScheme, phase: access, want: "http", call: func(k H.Kong) string { return k.Request().ForwardedScheme() }},
	{op: H.OpRequestForwardedHost, phase: access, want: RequestHost, call: func(k H.Kong) string { return k.Request().ForwardedHost() }},
	{op: H.OpRequestForwardedPort, phase: access, want: "positive", call: func(k H.Kong) string { return positive(k.Request().ForwardedPort()) }},
	{op: H.OpRequestHTTPVersion, phase: access, want: "1.1", call: func(k H.Kong) string { return fmt.Sprint(k.Request().HTTPVersion()) }},
	{op: H.OpRequestMethod, phase: header, want: "POST", call: func(k H.Kong) string { return k.Request().Method() }},
	{op: H.OpRequestPath, phase: access, want: Path, call: func(k H.Kong) string { return k.Request().Path() }},
	{op: H.OpRequestRawPath, phase: access, want: Path, call: func(k H.Kong) string { return k.Request().RawPath() }},
	{op: H.OpRequestRawQuery, phase: body, want: Query, call: func(k H.Kong) string { return k.Request().RawQuery() }},
	{op: H.OpRequestQueryArg, phase: access, want: "1", call: func(k H.Kong) string { return str(k.Request().QueryArg("a")) }},
	{op: H.OpRequestQuery, phase: access, want: "a=1,2;b=x;", call: func(k H.Kong) string { return sortedValues(k.Request().Query()) }},
	{op: H.OpRequestHeader, phase: access, want: "1", call: func(k H.Kong) string { return k.Request().Header("x-multi") }},
	{op: H.OpRequestHeaderValues, phase: resp, want: "1,2", call: func(k H.Kong) string { return strings.Join(k.Request().HeaderValues("X-MULTI"), ",") }},
	{op: H.OpRequestHeaders, phase: access, want: "1,2", call: func(k H.Kong) string { return strings.Join(k.Request().Headers()["x-multi"], ",") }},
	{op: H.OpRequestRawBody, phase: access, want: Body, call: func(k H.Kong) string {
		b, err := k.Request().RawBody()
		return string(b) + errText(err)
	}},
	{op: H.OpRequestBody, phase: rewrite, want: "v application/json", call: func(k H.Kong) string {
		m, mt, err := k.Request().Body()
		return fmt.Sprint(m["k"], " ", mt) + errText(err)
	}},

	// kong.service.request
	{op: H.OpServiceRequestSetScheme, phase: access, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().SetScheme("http"); return "ok" },
		check: clientGot(UpstreamStatus, UpstreamBody)},
	{op: H.OpServiceRequestSetPath, phase: access, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().SetPath("/set-path"); return "ok" },
		check: upstreamIs("path", func(u UpstreamRequest) string { return u.Path }, "/set-path")},
	{op: H.OpServiceRequestSetRawQuery, phase: rewrite, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().SetRawQuery("q=1"); return "ok" },
		check: upstreamIs("query", func(u UpstreamRequest) string { return u.RawQuery }, "q=1")},
	{op: H.OpServiceRequestSetQuery, phase: access, want: "ok", call: func(k H.Kong) string {
		k.ServiceRequest().SetQuery(map[string][]string{"q": {"2", "3"}})
		return "ok"
	}, check: upstreamIs("query", func(u UpstreamRequest) string { return u.RawQuery }, "q=2&q=3")},
	{op: H.OpServiceRequestSetMethod, phase: access, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().SetMethod("PUT"); return "ok" },
		check: upstreamIs("method", func(u UpstreamRequest) string { return u.Method }, "PUT")},
	{op: H.OpServiceRequestSetHeader, phase: access, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().SetHeader("X-Set", "1"); return "ok" },
		check: upstreamHas("X-Set", "1")},
	{op: H.OpServiceRequestAddHeader, phase: access, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().AddHeader("X-Multi", "3"); return "ok" },
		check: upstreamHas("X-Multi", "1,2,3")},
	{op: H.OpServiceRequestClearHeader, phase: rewrite, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().ClearHeader("x-multi"); return "ok" },
		check: upstreamHas("X-Multi", "")},
	{op: H.OpServiceRequestSetHeaders, phase: access, want: "ok", call: func(k H.Kong) string {
		k.ServiceRequest().SetHeaders(map[string][]string{"X-Multi": {"a", "b"}})
		return "ok"
	}, check: upstreamHas("X-Multi", "a,b")},
	{op: H.OpServiceRequestSetRawBody, phase: access, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().SetRawBody([]byte("raw")); return "ok" },
		check: upstreamIs("body", func(u UpstreamRequest) string { return u.Body }, "raw")},
	{op: H.OpServiceRequestSetBody, phase: access, want: "", call: func(k H.Kong) string {
		return errText(k.ServiceRequest().SetBody(map[string]any{"j": 1}, "application/x-www-form-urlencoded"))
	}, check: all(upstreamIs("body", func(u UpstreamRequest) string { return u.Body }, "j=1"),
		upstreamHas("Content-Type", "application/x-www-form-urlencoded"))},
	{op: H.OpServiceRequestEnableBuffering, phase: access, want: "ok", call: func(k H.Kong) string { k.ServiceRequest().EnableBuffering(); return "ok" },
		check: clientGot(UpstreamStatus, UpstreamBody)},

	// kong.service
	{op: H.OpServiceSetTarget, phase: access, want: "ok", call: func(k H.Kong) string {
		host, port, _ := strings.Cut(k.Request().Header("X-Abi-Target"), ":")
		p, _ := strconv.Atoi(port)
		k.Service().SetTarget(host, p)
		return "ok"
	}, check: clientGot(UpstreamStatus, UpstreamBody)},
	{op: H.OpServiceSetUpstream, phase: access, want: " error: could not find an Upstream named 'nope'/ok", call: func(k H.Kong) string {
		bad := errText(k.Service().SetUpstream("nope"))
		good := errText(k.Service().SetUpstream(UpstreamName))
		if good == "" {
			good = "ok"
		}
		return bad + "/" + good
	}, check: clientGot(UpstreamStatus, UpstreamBody)},

	// kong.response
	{op: H.OpResponseStatus, phase: header, want: strconv.Itoa(UpstreamStatus), call: func(k H.Kong) string { return strconv.Itoa(k.Response().Status()) }},
	{op: H.OpResponseSetStatus, phase: header, want: "ok", call: func(k H.Kong) string { k.Response().SetStatus(201); return "ok" },
		check: clientGot(201, UpstreamBody)},
	{op: H.OpResponseHeader, phase: header, want: UpstreamValue, call: func(k H.Kong) string { return k.Response().Header(UpstreamHeader) }},
	{op: H.OpResponseHeaders, phase: logp, want: UpstreamValue, call: func(k H.Kong) string {
		return strings.Join(k.Response().Headers()[strings.ToLower(UpstreamHeader)], ",")
	}},
	{op: H.OpResponseSetHeader, phase: header, want: "ok", call: func(k H.Kong) string { k.Response().SetHeader("X-Resp", "1"); return "ok" },
		check: clientHas("X-Resp", "1")},
	{op: H.OpResponseAddHeader, phase: header, want: "ok", call: func(k H.Kong) string { k.Response().AddHeader(UpstreamHeader, "2"); return "ok" },
		check: clientHas(UpstreamHeader, UpstreamValue+",2")},
	{op: H.OpResponseClearHeader, phase: header, want: "ok", call: func(k H.Kong) string { k.Response().ClearHeader(UpstreamHeader); return "ok" },
		check: clientHas(UpstreamHeader, "")},
	{op: H.OpResponseSource, phase: header, want: "service", call: func(k H.Kong) string { return k.Response().Source() }},
	{op: H.OpResponseExit, phase: access, want: "ok", call: func(k H.Kong) string {
		k.Response().Exit(418, []byte("teapot"), map[string]string{"X-Exit": "1"})
		return "ok"
	}, check: all(clientGot(418, "teapot"), clientHas("X-Exit", "1"), func(o Outcome) error {
		if o.Proxied {
			return errors.New("an exit was proxied")
		}
		return nil
	})},
	{op: H.OpResponseExit, phase: rewrite, variant: "json", want: "ok", call: func(k H.Kong) string {
		H.JSONExit(k.Response(), 403, map[string]string{"message": "no"}, nil)
		return "ok"
	}, check: all(clientGot(403, `{"message":"no"}`), clientHas("Content-Type", "application/json; charset=utf-8"))},
	{op: H.OpResponseError, phase: access, want: "ok", call: func(k H.Kong) string { k.Response().Error(403, "", nil); return "ok" },
		check: all(clientHas("Content-Type", "application/json; charset=utf-8"), func(o Outcome) error {
			if o.Status != 403 || !strings.HasPrefix(o.Body, `{"message":"Forbidden","request_id":"`) {
				return fmt.Errorf("error response %d %s", o.Status, o.Body)
			}
			return nil
		})},
	{op: H.OpResponseError, phase: access, variant: "text", want: "ok", call: func(k H.Kong) string {
		k.Response().Error(429, "slow down", map[string]string{"Content-Type": "text/plain", "Retry-After": "1"})
		return "ok"
	}, check: all(clientHas("Retry-After", "1"), clientHas("Content-Type", "text/plain; charset=utf-8"), func(o Outcome) error {
		if o.Status != 429 || !strings.HasPrefix(o.Body, "slow down\nrequest_id: ") {
			return fmt.Errorf("error response %d %q", o.Status, o.Body)
		}
		return nil
	})},
	{op: H.OpResponseExited, phase: access, want: "false/true", call: func(k H.Kong) string {
		before := k.Response().Exited()
		k.Response().Exit(204, nil, nil)
		return fmt.Sprint(before, "/", k.Response().Exited())
	}, check: clientGot(204, "")},
	{op: H.OpResponseRawBody, phase: resp, want: UpstreamBody, call: func(k H.Kong) string { return string(k.Response().RawBody()) }},
	{op: H.OpResponseSetRawBody, phase: resp, want: "ok", call: func(k H.Kong) string { k.Response().SetRawBody([]byte("replaced")); return "ok" },
		check: clientGot(UpstreamStatus, "replaced")},

	// kong.service.response
	{op: H.OpServiceResponseStatus, phase: logp, want: strconv.Itoa(UpstreamStatus), call: func(k H.Kong) string { return strconv.Itoa(k.ServiceResponse().Status()) }},
	{op: H.OpServiceResponseHeader, phase: header, want: UpstreamValue, call: func(k H.Kong) string { return k.ServiceResponse().Header(UpstreamHeader) }},
	{op: H.OpServiceResponseHeaders, phase: resp, want: UpstreamValue, call: func(k H.Kong) string {
		return strings.Join(k.ServiceResponse().Headers()[strings.ToLower(UpstreamHeader)], ",")
	}},
	{op: H.OpServiceResponseRawBody, phase: resp, want: UpstreamBody, call: func(k H.Kong) string { return string(k.ServiceResponse().RawBody()) }},

	// kong.client
	{op: H.OpClientIP, phase: access, want: "127.0.0.1", call: func(k H.Kong) string { return k.Client().IP() }},
	{op: H.OpClientForwardedIP, phase: logp, want: "127.0.0.1", call: func(k H.Kong) string { return k.Client().ForwardedIP() }},
	{op: H.OpClientPort, phase: access, want: "positive", call: func(k H.Kong) string { return positive(k.Client().Port()) }},
	{op: H.OpClientForwardedPort, phase: access, want: "positive", call: func(k H.Kong) string { return positive(k.Client().ForwardedPort()) }},
	{op: H.OpClientProtocol, phase: access, want: "http", call: func(k H.Kong) string { return k.Client().Protocol() }},
	{op: H.OpClientConsumer, phase: access, want: "nil", call: func(k H.Kong) string { return field(k.Client().Consumer(), "username") }},
	{op: H.OpClientCredential, phase: header, want: "nil", call: func(k H.Kong) string { return field(k.Client().Credential(), "id") }},
	{op: H.OpClientAuthenticate, phase: access, want: ConsumerName + "/cred-1", call: func(k H.Kong) string {
		k.Client().Authenticate(H.Entity{"id": "c-1", "username": ConsumerName}, H.Entity{"id": "cred-1"})
		return field(k.Client().Consumer(), "username") + "/" + field(k.Client().Credential(), "id")
	}},
	{op: H.OpClientLoadConsumer, phase: access, want: ConsumerName + "/nil", call: func(k H.Kong) string {
		c, err := k.Client().LoadConsumer(k.Context(), ConsumerName, true)
		none, err2 := k.Client().LoadConsumer(k.Context(), "nobody", true)
		return field(c, "username") + "/" + field(none, "username") + errText(err) + errText(err2)
	}},

	// kong.ctx
	{op: H.OpCtxSharedGet, phase: header, want: "absent", call: func(k H.Kong) string { return str(k.Ctx().Shared().Get("missing")) }},
	{op: H.OpCtxSharedSet, phase: access, want: "v", call: func(k H.Kong) string {
		k.Ctx().Shared().Set("k", "v")
		return str(k.Ctx().Shared().Get("k"))
	}},
	{op: H.OpCtxSharedDelete, phase: rewrite, want: "absent", call: func(k H.Kong) string {
		k.Ctx().Shared().Set("k", "v")
		k.Ctx().Shared().Delete("k")
		return str(k.Ctx().Shared().Get("k"))
	}},
	{op: H.OpCtxPluginGet, phase: logp, want: "absent", call: func(k H.Kong) string { return str(k.Ctx().Plugin().Get("missing")) }},
	{op: H.OpCtxPluginSet, phase: access, want: "v/absent", call: func(k H.Kong) string {
		k.Ctx().Plugin().Set("k", "v")
		return str(k.Ctx().Plugin().Get("k")) + "/" + str(k.Ctx().Shared().Get("k"))
	}},
	{op: H.OpCtxPluginDelete, phase: body, want: "absent", call: func(k H.Kong) string {
		k.Ctx().Plugin().Set("k", "v")
		k.Ctx().Plugin().Delete("k")
		return str(k.Ctx().Plugin().Get("k"))
	}},

	// kong.log
	{op: H.OpLog, phase: access, want: "ok", call: func(k H.Kong) string { k.Log().Info("abi probe"); return "ok" },
		check: func(o Outcome) error {
			if len(o.LogPlugins) != 1 || o.LogPlugins[0] != PluginName {
				return fmt.Errorf("log lines carried plugin names %q, want [%s]", o.LogPlugins, PluginName)
			}
			return nil
		}},

	{op: H.OpLogSerialize, phase: logp, want: "POST /abi/probe?a=1&a=2&b=x http://abi.test:positive 1,2 /abi/probe?a=1&a=2&b=x 200 200 abi 127.0.0.1 abi-service true service",
		call: func(k H.Kong) string { return serialized(k.Log().Serialize()) }},
	{op: H.OpLogSetSerializeValue, phase: logp, want: "x/a.b/absent/POST/added/absent/absent/replaced/ error: mode must be 'set', 'add' or 'replace'",
		call: func(k H.Kong) string {
			k.Log().SetSerializeValue("custom.field", "x")
			k.Log().SetSerializeValue(`dotted\.key`, "a.b")
			k.Log().SetSerializeValue("client_ip", nil)
			// Kong's options.mode: add leaves what exists, replace adds
			// nothing (not even the records on the way).
			k.Log().SetSerializeValueMode("request.method", "NOPE", H.SerializeAdd)
			k.Log().SetSerializeValueMode("added.field", "added", H.SerializeAdd)
			k.Log().SetSerializeValueMode("missing.field", "r", H.SerializeReplace)
			k.Log().SetSerializeValueMode("upstream_status", "replaced", H.SerializeReplace)
			err := k.Log().SetSerializeValueMode("bogus", "b", "sometimes")
			m := k.Log().Serialize()
			custom, _ := m["custom"].(map[string]any)
			ip, ok := m["client_ip"]
			req, _ := m["request"].(map[string]any)
			added, _ := m["added"].(map[string]any)
			missing, okMissing := m["missing"]
			bogus, okBogus := m["bogus"]
			return fmt.Sprint(custom["field"], "/", m["dotted.key"], "/") + str(ip, ok) + "/" + fmt.Sprint(req["method"], "/", added["field"], "/") +
				str(missing, okMissing) + "/" + str(bogus, okBogus) + "/" + fmt.Sprint(m["upstream_status"], "/") + errText(err)
		}},

	// kong.client.tls, outbound HTTP, timers
	{op: H.OpClientTLSCertificateChain, phase: access, want: "none", call: func(k H.Kong) string {
		chain, err := k.TLS().ClientCertificateChain()
		if chain == "" && err == nil {
			return "none"
		}
		return chain + errText(err)
	}},
	{op: H.OpHTTPDo, phase: access, want: "200 " + UpstreamBody + "/error", call: func(k H.Kong) string {
		target := "http://" + k.Request().Header("X-Abi-Target") + "/outbound"
		res, err := k.HTTP().Do(k.Context(), H.HTTPRequest{URL: target, Header: map[string][]string{"X-Abi-Nonce": {"outbound"}}})
		_, err2 := k.HTTP().Do(k.Context(), H.HTTPRequest{URL: target, Timeout: time.Nanosecond})
		timedOut := "no error"
		if err2 != nil {
			timedOut = "error"
		}
		return fmt.Sprint(res.Status, " ", string(res.Body), errText(err), "/", timedOut)
	}},
	{op: H.OpTimersAfter, phase: logp, want: "ok", call: func(k H.Kong) string {
		target := "http://" + k.Request().Header("X-Abi-Target") + "/timer"
		err := k.Timers().After(time.Millisecond, func(ctx context.Context, h H.HTTP) {
			h.Do(ctx, H.HTTPRequest{URL: target, Header: map[string][]string{"X-Abi-Nonce": {"timer"}}})
		})
		if err != nil {
			return err.Error()
		}
		return "ok"
	}},

	// kong.cache
	{op: H.OpCacheGet, phase: access, want: "absent", call: func(k H.Kong) string { return str(k.Cache().Get(cacheKey(k, "get"))) }},
	{op: H.OpCacheSet, phase: access, want: "v/<nil>", call: func(k H.Kong) string {
		k.Cache().Set(cacheKey(k, "a"), "v", time.Minute)
		k.Cache().Set(cacheKey(k, "b"), nil, time.Minute)
		return str(k.Cache().Get(cacheKey(k, "a"))) + "/" + str(k.Cache().Get(cacheKey(k, "b")))
	}},
	{op: H.OpCacheLookup, phase: access, want: "load/found v", call: func(k H.Kong) string {
		key := cacheKey(k, "lookup")
		first := lookup(k, key)
		k.Cache().Fill(key, "v", time.Minute)
		return first + "/" + lookup(k, key)
	}},
	{op: H.OpCacheFill, phase: logp, want: "found 42", call: func(k H.Kong) string {
		key := cacheKey(k, "fill")
		_ = lookup(k, key)
		k.Cache().Fill(key, 42, time.Minute)
		return lookup(k, key)
	}},
	{op: H.OpCacheAbandon, phase: access, want: "load/load", call: func(k H.Kong) string {
		key := cacheKey(k, "abandon")
		first := lookup(k, key)
		k.Cache().Abandon(key, errors.New("no"))
		second := lookup(k, key)
		k.Cache().Abandon(key, nil)
		return first + "/" + second
	}},
	{op: H.OpCacheInvalidate, phase: access, want: "absent", call: func(k H.Kong) string {
		key := cacheKey(k, "inv")
		k.Cache().Set(key, "v", time.Minute)
		k.Cache().Invalidate(key)
		return str(k.Cache().Get(key))
	}},

	// kong.node, kong.router, kong.ip, kong.plugin
	{op: H.OpNodeID, phase: rewrite, want: "36", call: func(k H.Kong) string { return strconv.Itoa(len(k.Node().ID())) }},
	{op: H.OpNodeHostname, phase: logp, want: "set", call: func(k H.Kong) string { return set(k.Node().Hostname()) }},
	{op: H.OpRouterRoute, phase: access, want: "36", call: func(k H.Kong) string { return strconv.Itoa(len(field(k.Router().Route(), "id"))) }},
	{op: H.OpRouterService, phase: header, want: "abi-service", call: func(k H.Kong) string { return field(k.Router().Service(), "name") }},
	{op: H.OpRouterURICaptures, phase: access, want: "0=/abi/probe;1=probe;what=probe;", call: func(k H.Kong) string {
		m := map[string][]string{}
		for n, v := range k.Router().URICaptures() {
			m[n] = []string{v}
		}
		return sortedValues(m)
	}},
	{op: H.OpIPIsTrusted, phase: access, want: "true/false/false", call: func(k H.Kong) string {
		return fmt.Sprint(k.IP().IsTrusted("10.1.2.3"), "/", k.IP().IsTrusted("127.0.0.1"), "/", k.IP().IsTrusted("not an ip"))
	}},
	{op: H.OpPluginID, phase: body, want: PluginID, call: func(k H.Kong) string { return k.Plugin().ID() }},
	{op: H.OpPluginName, phase: access, want: PluginName, call: func(k H.Kong) string { return k.Plugin().Name() }},

	// credentials
	{op: H.OpCredentialsCredential, phase: access, want: CredentialKey + "/nil", call: func(k H.Kong) string {
		c, err := k.Credentials().Credential(k.Context(), "keyauth_credentials", "key", CredentialKey)
		none, err2 := k.Credentials().Credential(k.Context(), "keyauth_credentials", "key", "nope")
		return field(c, "key") + "/" + field(none, "key") + errText(err) + errText(err2)
	}},
	{op: H.OpCredentialsConsumerCredentials, phase: access, want: "1", call: func(k H.Kong) string {
		c, err := k.Client().LoadConsumer(k.Context(), ConsumerName, true)
		if err != nil || c == nil {
			return "no consumer" + errText(err)
		}
		list, err := k.Credentials().ConsumerCredentials(k.Context(), "keyauth_credentials", field(c, "id"))
		return strconv.Itoa(len(list)) + errText(err)
	}},

	// kong.db: entities named after the request's nonce, so probes and
	// reruns never meet.
	{op: H.OpDBInsert, phase: access, want: "inserted uuid/5 unique constraint violation", call: func(k H.Kong) string {
		name := "db-" + k.Request().Header("X-Abi-Nonce")
		c, err := k.DB().Insert(k.Context(), "consumers", H.Entity{"username": name}, H.WriteOptions{})
		if err != nil {
			return "insert" + errText(err)
		}
		_, err = k.DB().Insert(k.Context(), "consumers", H.Entity{"username": name}, H.WriteOptions{})
		return fmt.Sprintf("inserted %s/%s", uuidOrNot(field(c, "id")), dbErrText(err))
	}},
	{op: H.OpDBSelect, phase: access, want: "by id/by username/nil", call: func(k H.Kong) string {
		name := "db-" + k.Request().Header("X-Abi-Nonce")
		none, err3 := k.DB().Select(k.Context(), "consumers", "nobody-"+name)
		c, err := k.DB().Insert(k.Context(), "consumers", H.Entity{"username": name}, H.WriteOptions{})
		if err != nil {
			return "insert" + errText(err)
		}
		byID, err1 := k.DB().Select(k.Context(), "consumers", field(c, "id"))
		byName, err2 := k.DB().Select(k.Context(), "consumers", name)
		return fmt.Sprintf("%s/%s/%v", same(byID, name, "by id"), same(byName, name, "by username"), nilOr(none)) +
			errText(err1) + errText(err2) + errText(err3)
	}},
	{op: H.OpDBSelectBy, phase: access, want: "found/nil", call: func(k H.Kong) string {
		name := "db-" + k.Request().Header("X-Abi-Nonce")
		none, err2 := k.DB().SelectBy(k.Context(), "consumers", "custom_id", "nope-"+name)
		if _, err := k.DB().Insert(k.Context(), "consumers", H.Entity{"username": name, "custom_id": "cid-" + name}, H.WriteOptions{}); err != nil {
			return "insert" + errText(err)
		}
		c, err1 := k.DB().SelectBy(k.Context(), "consumers", "custom_id", "cid-"+name)
		return same(c, name, "found") + "/" + nilOr(none) + errText(err1) + errText(err2)
	}},
	{op: H.OpDBPage, phase: access, want: "2 next/1 last/9 invalid size", call: func(k H.Kong) string {
		tag := "t" + k.Request().Header("X-Abi-Nonce")
		_, _, err3 := k.DB().Page(k.Context(), "consumers", H.PageQuery{Size: 5000})
		for i := 0; i < 3; i++ {
			if _, err := k.DB().Insert(k.Context(), "consumers", H.Entity{"username": fmt.Sprintf("%s-%d", tag, i), "tags": []any{tag}}, H.WriteOptions{}); err != nil {
				return "insert" + errText(err)
			}
		}
		first, next, err1 := k.DB().Page(k.Context(), "consumers", H.PageQuery{Size: 2, Tags: []string{tag}})
		second, last, err2 := k.DB().Page(k.Context(), "consumers", H.PageQuery{Size: 2, Tags: []string{tag}, Offset: next})
		return fmt.Sprintf("%d %s/%d %s/%s", len(first), nextOrLast(next), len(second), nextOrLast(last), dbErrText(err3)) + errText(err1) + errText(err2)
	}},
	{op: H.OpDBUpdate, phase: access, want: "new-cid/6 not found", call: func(k H.Kong) string {
		name := "db-" + k.Request().Header("X-Abi-Nonce")
		_, err2 := k.DB().Update(k.Context(), "consumers", "nobody-"+name, H.Entity{"custom_id": "x"}, H.WriteOptions{})
		c, err := k.DB().Insert(k.Context(), "consumers", H.Entity{"username": name}, H.WriteOptions{})
		if err != nil {
			return "insert" + errText(err)
		}
		u, err1 := k.DB().Update(k.Context(), "consumers", field(c, "id"), H.Entity{"custom_id": "new-cid"}, H.WriteOptions{})
		return field(u, "custom_id") + "/" + dbErrText(err2) + errText(err1)
	}},
	{op: H.OpDBUpsert, phase: access, want: "created/replaced", call: func(k H.Kong) string {
		name := "db-" + k.Request().Header("X-Abi-Nonce")
		a, err1 := k.DB().Upsert(k.Context(), "consumers", name, H.Entity{"custom_id": "a-" + name}, H.WriteOptions{})
		b, err2 := k.DB().Upsert(k.Context(), "consumers", name, H.Entity{"custom_id": "b-" + name}, H.WriteOptions{})
		out := "?"
		if field(a, "username") == name && field(a, "custom_id") == "a-"+name {
			out = "created"
		}
		if field(b, "id") == field(a, "id") && field(b, "custom_id") == "b-"+name {
			out += "/replaced"
		}
		return out + errText(err1) + errText(err2)
	}},
	{op: H.OpDBDelete, phase: access, want: "no error/nil", call: func(k H.Kong) string {
		name := "db-" + k.Request().Header("X-Abi-Nonce")
		missing := k.DB().Delete(k.Context(), "consumers", name)
		if _, err := k.DB().Insert(k.Context(), "consumers", H.Entity{"username": name}, H.WriteOptions{}); err != nil {
			return "insert" + errText(err)
		}
		err1 := k.DB().Delete(k.Context(), "consumers", name)
		gone, err2 := k.DB().Select(k.Context(), "consumers", name)
		return dbErrText(missing) + "/" + nilOr(gone) + errText(err1) + errText(err2)
	}},
}

func uuidOrNot(s string) string {
	if len(s) == 36 && strings.Count(s, "-") == 4 {
		return "uuid"
	}
	return "not a uuid: " + s
}

// same tells whether e is the consumer named name.
func same(e H.Entity, name, label string) string {
	if field(e, "username") == name {
		return label
	}
	return fmt.Sprintf("not %s (%v)", name, e)
}

func nilOr(e H.Entity) string {
	if e == nil {
		return "nil"
	}
	return fmt.Sprint(e)
}

func nextOrLast(offset string) string {
	if offset == "" {
		return "last"
	}
	return "next"
}

// dbErrText renders a kong.db error as Kong's code and name.
func dbErrText(err error) string {
	var de *H.DBError
	if errors.As(err, &de) {
		return fmt.Sprintf("%d %s", de.Code, de.Name)
	}
	if err == nil {
		return "no error"
	}
	return "not a DBError: " + err.Error()
}

// contextSpec checks Kong.Context: its deadline is the request's start
// plus the service's connect, write and read timeouts.
var contextSpec = spec{op: H.OpRequestMethod, phase: access, variant: "context_deadline", want: "deadline ok", call: func(k H.Kong) string {
	d, ok := k.Context().Deadline()
	left := time.Until(d)
	if !ok || left <= 3*ServiceTimeout-time.Second || left > 3*ServiceTimeout {
		return fmt.Sprintf("deadline %v in %v", ok, left)
	}
	if k.Context().Err() != nil {
		return "context ended: " + k.Context().Err().Error()
	}
	return "deadline ok"
}}

// serialized picks the fields of kong.log.serialize that every host
// reports the same.
func serialized(m map[string]any) string {
	req, _ := m["request"].(map[string]any)
	resp, _ := m["response"].(map[string]any)
	hdrs, _ := req["headers"].(map[string]any)
	rhdrs, _ := resp["headers"].(map[string]any)
	q, _ := req["querystring"].(map[string]any)
	url, _ := req["url"].(string)
	if i := strings.LastIndexByte(url, ':'); i > 0 {
		p, _ := strconv.Atoi(strings.TrimSuffix(url[i+1:], fmt.Sprint(req["uri"])))
		url = url[:i+1] + positive(p)
	}
	route, _ := m["route"].(H.Entity)
	svc, _ := m["service"].(H.Entity)
	multi := hdrs["x-multi"]
	if l, ok := multi.([]any); ok {
		parts := make([]string, len(l))
		for i, v := range l {
			parts[i] = fmt.Sprint(v)
		}
		multi = strings.Join(parts, ",")
	}
	return fmt.Sprint(req["method"], " ", req["uri"], " ", url, " ", multi, " ", m["upstream_uri"], " ",
		m["upstream_status"], " ", resp["status"], " ", rhdrs[strings.ToLower(UpstreamHeader)], " ", m["client_ip"], " ",
		svc["name"], " ", route["id"] != nil && len(q) == 2, " ", m["source"])
}

func set(s string) string {
	if s != "" {
		return "set"
	}
	return "empty"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return " error: " + err.Error()
}

// cacheKey makes a key of its own for each request, so probes never see
// each other's entries in a node-wide cache.
func cacheKey(k H.Kong, name string) string {
	return "abi:" + k.Request().Header("X-Abi-Nonce") + ":" + name
}

func lookup(k H.Kong, key string) string {
	ctx, cancel := context.WithTimeout(k.Context(), time.Second)
	defer cancel()
	v, found, load, err := k.Cache().Lookup(ctx, key)
	switch {
	case err != nil:
		return "error " + err.Error()
	case load:
		return "load"
	case found:
		return fmt.Sprint("found ", v)
	}
	return "neither"
}
