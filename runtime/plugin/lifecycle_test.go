package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// lifecycleDef is a plugin definition recording its plugin-level phases
// into calls.
func lifecycleDef(name string, calls *[]string, seen map[string][]map[string]any, fail string) *plugin.Definition {
	return &plugin.Definition{Name: name,
		Schema: &store.PluginSchema{Name: name, Config: &schema.Schema{Fields: []*schema.Field{{Name: "n", Type: schema.Integer}}}},
		New:    func(map[string]any) (any, error) { return struct{}{}, nil },
		InitWorker: func(context.Context) error {
			*calls = append(*calls, name+".init_worker")
			switch fail {
			case "panic":
				panic("boom")
			case "error":
				return errors.New("nope")
			}
			return nil
		},
		Configure: func(_ context.Context, configs []map[string]any) error {
			*calls = append(*calls, name+".configure")
			seen[name] = configs
			switch fail {
			case "panic":
				panic("boom")
			case "error":
				return errors.New("nope")
			}
			return nil
		},
	}
}

func TestPluginPhasesAreIsolated(t *testing.T) {
	var calls []string
	seen := map[string][]map[string]any{}
	defs := []*plugin.Definition{
		lifecycleDef("lc-panics", &calls, seen, "panic"),
		lifecycleDef("lc-fails", &calls, seen, "error"),
		lifecycleDef("lc-works", &calls, seen, ""),
		lifecycleDef("lc-idle", &calls, seen, ""),
		{Name: "lc-none", New: func(map[string]any) (any, error) { return struct{}{}, nil }},
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	faults := plugin.InitWorkers(context.Background(), defs, log)
	if want := []string{"lc-fails.init_worker", "lc-idle.init_worker", "lc-panics.init_worker", "lc-works.init_worker"}; !reflect.DeepEqual(calls, want) {
		t.Errorf("init_worker calls %q, want %q", calls, want)
	}
	if len(faults) != 2 || faults[0].Error() != "plugin lc-fails: init_worker: nope" ||
		faults[1].Error() != "plugin lc-panics: init_worker panicked: boom" {
		t.Errorf("faults %v", faults)
	}
	for _, want := range []string{"plugin=lc-fails phase=init_worker", "plugin=lc-panics phase=init_worker panic=boom"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}

	cat, err := plugin.NewCatalog([]string{"lc-panics", "lc-fails", "lc-works", "lc-idle", "lc-none"}, defs...)
	if err != nil {
		t.Fatal(err)
	}
	entity := func(id, name string, n int64) map[string]any {
		return map[string]any{"id": id, "name": name, "config": map[string]any{"n": n}}
	}
	entities := []map[string]any{
		entity("c", "lc-works", 3), entity("a", "lc-works", 1), entity("b", "lc-panics", 2),
		entity("z", "not-enabled", 9), entity("d", "lc-none", 4),
	}
	calls = nil
	faults = cat.Configure(context.Background(), entities, log)
	if want := []string{"lc-fails.configure", "lc-idle.configure", "lc-panics.configure", "lc-works.configure"}; !reflect.DeepEqual(calls, want) {
		t.Errorf("configure calls %q, want %q", calls, want)
	}
	if len(faults) != 2 {
		t.Errorf("faults %v", faults)
	}
	want := map[string][]map[string]any{
		"lc-works":  {{"n": int64(1)}, {"n": int64(3)}},
		"lc-panics": {{"n": int64(2)}},
		"lc-fails":  nil,
		"lc-idle":   nil,
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("configs %v\nwant %v", seen, want)
	}
	seen["lc-works"][0]["n"] = int64(100)
	if entities[1]["config"].(map[string]any)["n"] != int64(1) {
		t.Error("a plugin's configure changed the snapshot's entity")
	}
}

// TestProviderPluginPhases: a provider's factory that implements
// hostabi.WorkerIniter and hostabi.Configurer gets both phases.
func TestProviderPluginPhases(t *testing.T) {
	f := &phasedFactory{}
	d, err := plugin.FromData(hostabi.ProvidedPlugin{Definition: hostabi.Definition{Name: "phased"}, Factory: f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.InitWorker == nil || d.Configure == nil {
		t.Fatal("phases not wired")
	}
	_ = d.InitWorker(context.Background())
	_ = d.Configure(context.Background(), []map[string]any{{"k": "v"}})
	if f.inits != 1 || !reflect.DeepEqual(f.configs, []map[string]any{{"k": "v"}}) {
		t.Errorf("factory saw %d inits, configs %v", f.inits, f.configs)
	}
	plain, err := plugin.FromData(hostabi.ProvidedPlugin{Definition: hostabi.Definition{Name: "plain"}, Factory: plainFactory{}}, nil)
	if err != nil || plain.InitWorker != nil || plain.Configure != nil {
		t.Errorf("a factory without the phases got them: %v", err)
	}
}

type plainFactory struct{}

func (plainFactory) New(map[string]any) (any, error) { return struct{}{}, nil }

type phasedFactory struct {
	plainFactory
	inits   int
	configs []map[string]any
}

func (f *phasedFactory) InitWorker(context.Context) error { f.inits++; return nil }
func (f *phasedFactory) Configure(_ context.Context, c []map[string]any) error {
	f.configs = c
	return nil
}
