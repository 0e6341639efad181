package pdk

import (
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

const crafterID = "5d6c9a7e-1111-4222-8333-444455556666"

// crafterEnv holds alice, her groups (read through the node's cache) and
// her JWT secret, also in the database (kong.db reads it).
func crafterEnv(t testing.TB) *plugintest.Env {
	e := plugintest.NewEnv()
	alice := e.AddConsumer(hostabi.Entity{"id": crafterID, "username": "alice"})
	e.AddCredential("acls", alice, hostabi.Entity{"group": "users"})
	e.AddCredential("acls", alice, hostabi.Entity{"group": "admins"})
	secret := e.AddCredential("jwt_secrets", alice, hostabi.Entity{"key": "iss-alice", "secret": "s3"})
	useStore(t, e, "consumers", alice, "jwt_secrets", secret)
	return e
}

func TestLegacyCrafterFixture(t *testing.T) {
	env := crafterEnv(t)
	p := newLuaPlugin(t, fileSnippet(t, "legacy_crafter.lua"), Env{})
	req := (&plugintest.Request{Method: "POST", Path: "/token"}).WithIdentity(
		hostabi.Entity{"id": crafterID, "username": "alice"},
		hostabi.Entity{"id": "b1", "username": "alice", "consumer": map[string]any{"id": crafterID}})
	res := env.Run(t, p, hostabi.PhaseAccess, req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := "iss=iss-alice;sub=" + crafterID + ";nam=alice;rol=admins,users\n"
	if !res.Exited || res.Status != 200 || string(res.ExitBody) != want || res.RespHeader("content-type") != "text/plain" {
		t.Fatalf("exit %v %d %q %v", res.Exited, res.Status, res.ExitBody, res.ResponseHeader)
	}
	if !hasLog(res, "debug: crafting a token for alice") {
		t.Fatalf("logs %v", logMsgs(res))
	}

	// no credential: 401 with the 0.x body
	res = env.Run(t, p, hostabi.PhaseAccess, &plugintest.Request{})
	if res.Status != 401 || string(res.ExitBody) != "{\"message\":\"No credential\"}\n" {
		t.Fatalf("exit %d %q", res.Status, res.ExitBody)
	}
}

func TestModernCrafterFixture(t *testing.T) {
	env := crafterEnv(t)
	p := newLuaPlugin(t, fileSnippet(t, "modern_crafter.lua"), Env{})
	req := (&plugintest.Request{Method: "POST", Path: "/token"}).WithHeader("X-Issuer", "iss-alice").
		WithIdentity(hostabi.Entity{"id": crafterID, "username": "alice"}, nil)
	for i := 0; i < 2; i++ {
		res := env.Run(t, p, hostabi.PhaseAccess, req)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		body := res.ExitJSON()
		if res.Status != 200 || body["iss"] != "iss-alice" || body["sub"] != crafterID ||
			!reflect.DeepEqual(body["rol"], []any{"admins", "users"}) || res.ExitHeaders["Cache-Control"] != "no-store" {
			t.Fatalf("exit %d %s %v", res.Status, res.ExitBody, res.ExitHeaders)
		}
		if res.Shared["crafted_for"] != "alice" {
			t.Fatalf("shared %v", res.Shared)
		}
	}
	// the groups were loaded once through the cache; the secret was read
	// from the database (select_by_key), which is no cache lookup
	if n := env.CredentialLookups(); n != 1 {
		t.Fatalf("credential lookups %d, want 1", n)
	}

	res := env.Run(t, p, hostabi.PhaseAccess, (&plugintest.Request{}).WithHeader("X-Issuer", "nope").
		WithIdentity(hostabi.Entity{"id": crafterID, "username": "alice"}, nil))
	if res.Status != 403 || res.ExitMessage() != "no JWT credential for this issuer" {
		t.Fatalf("exit %d %s", res.Status, res.ExitBody)
	}
	res = env.Run(t, p, hostabi.PhaseAccess, &plugintest.Request{})
	if res.Status != 401 {
		t.Fatalf("exit %d %s", res.Status, res.ExitBody)
	}
}
