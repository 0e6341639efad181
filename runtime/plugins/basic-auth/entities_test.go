package basicauth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	basicauth "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"
)

func TestCredentialPasswordHashedOnWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, basicauth.Name)
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	id := c["id"].(string)
	cred, err := s.Insert(ctx, basicauth.CredentialEntity, map[string]any{"consumer": map[string]any{"id": id},
		"username": "bob", "password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if cred["password"] != basicauth.HashPassword("pw", id) {
		t.Errorf("stored password %v, want the hash", cred["password"])
	}
	upd, err := s.Update(ctx, basicauth.CredentialEntity, "bob", map[string]any{"tags": []any{"t"}})
	if err != nil || upd["password"] != cred["password"] {
		t.Errorf("a PATCH without a password rehashed it: %v, %v", upd["password"], err)
	}
	for _, c := range []struct{ pw, id, want string }{
		{"OpenSesame", "c1", basicauth.HashPassword("OpenSesame", "c1")},
		{"a", "b", "da23614e02469a0d7c7bd1bdab5c9c474b1904dc"}, // sha1("ab")
	} {
		if got := basicauth.HashPassword(c.pw, c.id); got != c.want || len(got) != 40 {
			t.Errorf("HashPassword(%q, %q) = %s", c.pw, c.id, got)
		}
	}
}
