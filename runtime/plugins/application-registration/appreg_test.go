package appreg_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	appreg "github.com/gatehouse/gatehouse/runtime/plugins/application-registration"
	"github.com/gatehouse/gatehouse/runtime/plugins/oauth2"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
)

const (
	svcID      = "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0001"
	otherSvcID = "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0002"
	appCons    = "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0003"
	bobID      = "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0004"
	devID      = "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0005"
	appID      = "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0006"
	instID     = "5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0007"
)

// fixture is a store with an application (its consumer, oauth2
// credential, a token for svc) registered to svc, and bob, a plain
// consumer with a credential and a token for svc.
func fixture(t testing.TB) (*plugintest.Env, *store.Store) {
	t.Helper()
	st, _ := catalogtest.OpenStore(t, oauth2.Name, appreg.Name)
	ctx := store.WithTypedInput(context.Background())
	ins := func(entity string, rec map[string]any) {
		t.Helper()
		if _, err := st.Insert(ctx, entity, rec); err != nil {
			t.Fatalf("%s: %v", entity, err)
		}
	}
	ref := func(id string) map[string]any { return map[string]any{"id": id} }
	ins("services", map[string]any{"id": svcID, "host": "up.test"})
	ins("services", map[string]any{"id": otherSvcID, "host": "other.test"})
	ins("consumers", map[string]any{"id": appCons, "username": devID + "_app"})
	ins("consumers", map[string]any{"id": bobID, "username": "bob"})
	ins("developers", map[string]any{"id": devID, "email": "dev@example.test", "status": 0})
	ins(store.ApplicationEntity, map[string]any{"id": appID, "name": "app", "redirect_uri": "https://cb.test/",
		"consumer": ref(appCons), "developer": ref(devID)})
	ins(store.ApplicationInstanceEntity, map[string]any{"id": instID, "application": ref(appID), "service": ref(svcID), "status": 1})
	for _, c := range []struct{ id, consumer, clientID string }{
		{"5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0010", appCons, "app-cid"},
		{"5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0011", bobID, "bob-cid"},
	} {
		ins(oauth2.CredentialEntity, map[string]any{"id": c.id, "consumer": ref(c.consumer), "name": c.clientID,
			"client_id": c.clientID, "client_secret": "sec"})
		ins(oauth2.TokenEntity, map[string]any{"credential": ref(c.id), "service": ref(svcID),
			"access_token": c.clientID + "-token", "expires_in": 0})
	}
	env := plugintest.NewEnv()
	env.AddConsumer(hostabi.Entity{"id": appCons, "username": devID + "_app"})
	env.AddConsumer(hostabi.Entity{"id": bobID, "username": "bob"})
	return env, st
}

func newPlugin(t testing.TB, cfg map[string]any) any {
	t.Helper()
	p, err := appreg.New(plugintest.Config(t, appreg.Schema(), cfg))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// legacy is the training's configuration (§9.3.2).
var legacy = map[string]any{"auth_header_name": "authorization", "auto_approve": true, "display_name": "auth",
	"enable_client_credentials": true}

func TestAccess(t *testing.T) {
	env, st := fixture(t)
	p := plugintest.OnStore{Plugin: newPlugin(t, legacy), Store: st}
	setInstance := func(status int, suspended bool) {
		t.Helper()
		_, err := st.Update(store.WithTypedInput(context.Background()), store.ApplicationInstanceEntity, instID,
			map[string]any{"status": status, "suspended": suspended})
		if err != nil {
			t.Fatal(err)
		}
	}
	call := func(svc, token string) *plugintest.Result {
		r := plugintest.NewRequest("GET", "/api/x").WithService(hostabi.Entity{"id": svc})
		r.Scheme = "https"
		if token != "" {
			r = r.WithHeader("Authorization", "Bearer "+token)
		}
		return env.Run(t, p, hostabi.PhaseAccess, r)
	}
	tests := []struct {
		name      string
		status    int
		suspended bool
		svc       string
		token     string
		want      int    // 0: let through
		body      string // the exit body, when refused
	}{
		{"approved", store.InstanceApproved, false, svcID, "app-cid-token", 0, ""},
		{"pending", store.InstancePending, false, svcID, "app-cid-token", 403, `{"message":"You cannot consume this service"}`},
		{"rejected", store.InstanceRejected, false, svcID, "app-cid-token", 403, `{"message":"You cannot consume this service"}`},
		{"revoked", store.InstanceRevoked, false, svcID, "app-cid-token", 403, `{"message":"You cannot consume this service"}`},
		{"approved but suspended", store.InstanceApproved, true, svcID, "app-cid-token", 403, `{"message":"You cannot consume this service"}`},
		{"not a portal application", store.InstanceApproved, false, svcID, "bob-cid-token", 401, "Unauthorized"},
		{"no token", store.InstanceApproved, false, svcID, "", 401, ""},
		{"unknown token", store.InstanceApproved, false, svcID, "nope", 401, ""},
		{"token of another service", store.InstanceApproved, false, otherSvcID, "app-cid-token", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setInstance(tc.status, tc.suspended)
			res := call(tc.svc, tc.token)
			if res.Err != nil || res.Panic != nil {
				t.Fatalf("err %v, panic %v", res.Err, res.Panic)
			}
			if tc.want == 0 {
				if res.Exited {
					t.Fatalf("refused %d: %s", res.Status, res.ExitBody)
				}
				if g := res.Header["x-consumer-groups"]; len(g) != 1 || g[0] != tc.svc {
					t.Fatalf("X-Consumer-Groups %v", res.Header)
				}
				return
			}
			if !res.Exited || res.Status != tc.want {
				t.Fatalf("status %d (exited %v), want %d: %s", res.Status, res.Exited, tc.want, res.ExitBody)
			}
			if tc.body != "" && string(res.ExitBody) != tc.body {
				t.Fatalf("body %s, want %s", res.ExitBody, tc.body)
			}
		})
	}
}

func TestTokenEndpoint(t *testing.T) {
	env, st := fixture(t)
	p := plugintest.OnStore{Plugin: newPlugin(t, legacy), Store: st}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-cid"}, "client_secret": {"sec"}}.Encode()
	tests := []struct {
		name   string
		scheme string
		body   string
		status int
	}{
		{"client credentials over https", "https", form, 200},
		{"over http", "http", form, 400},
		{"wrong secret", "https", url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-cid"}, "client_secret": {"x"}}.Encode(), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := plugintest.NewRequest("POST", "/api/oauth2/token").WithService(hostabi.Entity{"id": svcID}).
				WithBody("application/x-www-form-urlencoded", []byte(tc.body))
			r.Scheme = tc.scheme
			res := env.Run(t, p, hostabi.PhaseAccess, r)
			if res.Err != nil || res.Status != tc.status {
				t.Fatalf("%v %d: %s", res.Err, res.Status, res.ExitBody)
			}
			if tc.status != 200 {
				return
			}
			var out map[string]any
			if err := json.Unmarshal(res.ExitBody, &out); err != nil || out["access_token"] == nil || out["expires_in"] != 7200.0 {
				t.Fatalf("token %s (%v)", res.ExitBody, err)
			}
		})
	}
}

// The 3.x mode authenticates nothing: the consumer comes from an
// authentication plugin before it; without one, 401.
func TestModernMode(t *testing.T) {
	env, st := fixture(t)
	p := plugintest.OnStore{Plugin: newPlugin(t, map[string]any{"display_name": "svc", "auto_approve": false}), Store: st}
	if _, err := st.Update(store.WithTypedInput(context.Background()), store.ApplicationInstanceEntity, instID,
		map[string]any{"status": 0}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		consumer hostabi.Entity
		want     int
	}{
		{"application consumer", hostabi.Entity{"id": appCons}, 0},
		{"plain consumer", hostabi.Entity{"id": bobID}, 401},
		{"anonymous", nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := plugintest.NewRequest("GET", "/api/x").WithService(hostabi.Entity{"id": svcID})
			if tc.consumer != nil {
				r = r.WithIdentity(tc.consumer, nil)
			}
			res := env.Run(t, p, hostabi.PhaseAccess, r)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if tc.want == 0 && res.Exited || tc.want != 0 && (!res.Exited || res.Status != tc.want) {
				t.Fatalf("status %d exited %v, want %d: %s", res.Status, res.Exited, tc.want, res.ExitBody)
			}
		})
	}
}

func TestConfigModes(t *testing.T) {
	tests := []struct {
		name   string
		cfg    map[string]any
		legacy bool
	}{
		{"training's legacy config", legacy, true},
		{"3.x config", map[string]any{"display_name": "x"}, false},
		{"password grant", map[string]any{"display_name": "x", "enable_password_grant": true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := appreg.ParseConfig(plugintest.Config(t, appreg.Schema(), tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			if c.Legacy() != tc.legacy {
				t.Fatalf("Legacy() = %v, want %v", c.Legacy(), tc.legacy)
			}
			if oc := c.OAuth2Config(); oc.TokenExpiration != 7200 || oc.AuthHeaderName != "authorization" || oc.PKCE != "lax" {
				t.Fatalf("oauth2 config %+v", oc)
			}
		})
	}
}

// BenchmarkAccess: an approved application's bearer token on its service,
// with the training's configuration (the token checked through the oauth2
// code, then the registration).
func BenchmarkAccess(b *testing.B) {
	env, st := fixture(b)
	if _, err := st.Update(store.WithTypedInput(context.Background()), store.ApplicationInstanceEntity, instID,
		map[string]any{"status": store.InstanceApproved}); err != nil {
		b.Fatal(err)
	}
	p := plugintest.OnStore{Plugin: newPlugin(b, legacy), Store: st}
	r := plugintest.NewRequest("GET", "/api/x").WithService(hostabi.Entity{"id": svcID}).
		WithHeader("Authorization", "Bearer app-cid-token")
	r.Scheme = "https"
	k := env.NewKong(r)
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
	if res := k.Result(); res.Exited {
		b.Fatalf("refused %d: %s", res.Status, res.ExitBody)
	}
}
