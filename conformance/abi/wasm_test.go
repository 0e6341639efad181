package abi_test

// The Wasm host runs the ABI probes through a Gatehouse Wasm guest,
// testdata/wasm/abi-probe (Go, GOOS=wasip1, on the raw imports of the
// `gatehouse` module), built by the test and served by plugins-wasm on the
// same node world as the proxy host (newNodeHost). For the request's
// X-Abi-Probe header the guest performs, in the probe's phase, the Wasm
// version of the Go probe, through the generic `call` import or the fast
// path the ABI has for the operation, and builds the same observed string.
// It reports on its stdout, which the host logs line by line with the
// plugin's name: "abi-called NAME" and "abi-returned NAME OBSERVED"; this
// test's logger feeds those lines to the abi.MemRecorder the native probe
// plugin reports to. Faults are what the proxy logs as the plugin's
// failure: an out-of-phase operation traps the guest, and the fault's
// error carries the *hostabi.PhaseError message.
//
// Where the guest cannot do what the Go probe does:
//
//	probe                             | Wasm probe
//	----------------------------------+--------------------------------------------------------------
//	kong.request.get_method/          | a guest has no context.Context: the host bounds each export by
//	  context_deadline                | the request's context; the probe checks the budget it comes
//	                                  | from, the matched service's three timeouts
//	                                  | (kong.router.get_service), as the Lua probe does
//	kong.timer.at                     | call("kong.timer.at", [0.001, 7]); the host later runs the
//	                                  | guest's timer(7) export on the instance that registered it,
//	                                  | whose kong.http.do reaches the upstream (TestWasmTimerRuns):
//	                                  | the target waits in the guest's memory, as a Go closure would
//	kong.request.get_header, get_method, get_path, get_raw_body, kong.service.request.set_header,
//	add_header, clear_header, set_raw_body, kong.response.get_status, set_status, get_header,
//	set_header, add_header, clear_header, get_raw_body, set_raw_body, exit, kong.ctx.*.get/set,
//	kong.cache.get/set, kong.log: through the fast-path imports; every other operation through call.

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/abi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// guestReports is a slog handler that turns the probe guest's stdout
// lines into recorder calls and passes every other record on.
type guestReports struct {
	rec  *abi.MemRecorder
	next slog.Handler
}

func (g guestReports) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (g guestReports) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "wasm guest output" {
		var line string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "line" {
				line = a.Value.String()
			}
			return true
		})
		if name, ok := strings.CutPrefix(line, "abi-called "); ok {
			g.rec.Called(name)
			return nil
		}
		if rest, ok := strings.CutPrefix(line, "abi-returned "); ok {
			name, raw, _ := strings.Cut(rest, " ")
			var obs string
			if err := json.Unmarshal([]byte(raw), &obs); err != nil {
				obs = "bad report: " + raw
			}
			g.rec.Returned(name, obs)
			return nil
		}
	}
	return g.next.Handle(ctx, r)
}
func (g guestReports) WithAttrs([]slog.Attr) slog.Handler { return g }
func (g guestReports) WithGroup(string) slog.Handler      { return g }

func newWasmHost(t *testing.T) *proxyHost {
	path, err := wasmbuild.Build("testdata/wasm/abi-probe")
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, abi.PluginName+".wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return newNodeHost(t, func(rec *abi.MemRecorder, log *slog.Logger) *plugin.Definition {
		p, err := wasmplugins.New(wasmplugins.Options{PluginsDir: dir, Names: []string{abi.PluginName},
			CacheDir: cache, Timeout: 2 * time.Second, Logger: slog.New(guestReports{rec: rec, next: log.Handler()})})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		defs, err := plugin.FromProvider(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(defs) != 1 || defs[0].Name != abi.PluginName {
			t.Fatalf("the Wasm provider serves %d plugins", len(defs))
		}
		return defs[0]
	})
}

// TestWasmHost runs every probe on the Wasm host, over HTTP.
func TestWasmHost(t *testing.T) { abi.Run(t, newWasmHost(t)) }

// TestWasmOutOfPhaseIs500: a Wasm plugin calling an operation out of
// phase before the response is sent ends the request with Kong's 500, as
// a native one does.
func TestWasmOutOfPhaseIs500(t *testing.T) { outOfPhaseIs500(t, newWasmHost(t)) }

// TestWasmTimerRuns: the guest's timer export really runs after the
// request: its outbound request reaches the upstream.
func TestWasmTimerRuns(t *testing.T) {
	h := newWasmHost(t)
	timerRuns(t, h, h)
}
