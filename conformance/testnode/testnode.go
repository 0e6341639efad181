// Package testnode starts real Gatehouse nodes for conformance tests: every
// listener on a free loopback port, a throw-away prefix, and Close when the
// test ends.
package testnode

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// Start starts a node with the Admin API and the proxy on loopback ports,
// no status listener and quiet logs; settings override any of these, or add
// others (Kong's names, as for --set). The node closes when the test ends.
func Start(t testing.TB, settings map[string]string) *app.Node {
	t.Helper()
	return StartWith(t, settings, app.Options{})
}

// StartWith is Start with node options: extra plugins, plugin providers
// (the Lua and Wasm hosts), an authorizer.
func StartWith(t testing.TB, settings map[string]string, opts app.Options) *app.Node {
	t.Helper()
	flags := map[string]string{
		"prefix": t.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "127.0.0.1:0",
		"status_listen": "off", "log_level": "crit",
		// Kong Manager's default listeners (0.0.0.0:8002, :8445) would
		// collide between test processes: a test opens them explicitly.
		"admin_gui_listen": "off",
	}
	for k, v := range settings {
		flags[k] = v
	}
	cfg, err := config.Load(config.LoadOptions{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	n, err := app.StartWith(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
