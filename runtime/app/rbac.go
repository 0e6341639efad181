package app

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/store"
)

// BootstrapAdmin is the name of the first super-admin, as Kong names it.
const BootstrapAdmin = "kong_admin"

// BootstrapTokenEnv names the environment variables whose value, at start,
// becomes the token of the first super-admin when no RBAC user has its
// name: Gatehouse's own, then Kong's KONG_PASSWORD (which Kong reads in
// `kong migrations bootstrap`).
var BootstrapTokenEnv = []string{"GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", "KONG_PASSWORD"}

// bootstrapRBAC seeds the predefined roles and creates the first
// super-admin from the environment.
func bootstrapRBAC(ctx context.Context, st *store.Store) error {
	if err := admin.SeedRoles(ctx, st); err != nil {
		return err
	}
	for _, name := range BootstrapTokenEnv {
		if token := os.Getenv(name); token != "" {
			_, _, err := BootstrapRBAC(ctx, st, token)
			return err
		}
	}
	return nil
}

// BootstrapRBAC creates the super-admin kong_admin with the given token (a
// new random one when empty) unless it exists. It returns the clear token
// and whether it created the user.
func BootstrapRBAC(ctx context.Context, st *store.Store, token string) (string, bool, error) {
	if st.ReadOnly() {
		return "", false, nil
	}
	_, err := st.Get(ctx, "rbac_users", BootstrapAdmin)
	if err == nil {
		return "", false, nil
	}
	if !store.IsNotFound(err) {
		return "", false, fmt.Errorf("rbac bootstrap: reading %s: %w", BootstrapAdmin, err)
	}
	in := map[string]any{"name": BootstrapAdmin, "comment": "bootstrapped super-admin"}
	if token != "" {
		in["user_token"] = token
	}
	rec, err := admin.CreateUser(ctx, st, in, []string{"super-admin"})
	if err != nil {
		return "", false, fmt.Errorf("rbac bootstrap: creating %s: %w", BootstrapAdmin, err)
	}
	clear, _ := rec["user_token"].(string)
	return clear, true, nil
}

// RBACBootstrap is `gatehouse rbac bootstrap`: it creates the super-admin
// kong_admin with a new random token and prints the token once to out.
func RBACBootstrap(ctx context.Context, cfg *config.Config, out io.Writer) error {
	s, err := openForData(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer s.Backend().Close()
	if s.ReadOnly() {
		return fmt.Errorf("rbac bootstrap: the store is read-only (database = off)")
	}
	if err := admin.SeedRoles(ctx, s); err != nil {
		return err
	}
	token, created, err := BootstrapRBAC(ctx, s, "")
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("rbac bootstrap: the super-admin %s already exists", BootstrapAdmin)
	}
	_, err = fmt.Fprintf(out, "Created the super-admin %s. Its Kong-Admin-Token, shown only this once:\n%s\n", BootstrapAdmin, token)
	return err
}

// policySet is the policy set of the current snapshot, which the Admin
// API's RBAC decides with (nil before the first snapshot).
func (n *Node) policySet() *policy.Set {
	if n.snapshots == nil {
		return nil
	}
	if snap := n.snapshots.Current(); snap != nil {
		return snap.Policies
	}
	return nil
}
