package luahost_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	rtplugin "github.com/gatehouse/gatehouse/runtime/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// TestGoldenSchemas converts the schema (and daos) of every testdata
// plugin, compares the JSON with testdata/golden/NAME.json, and loads it
// the way the node does (runtime/plugin.FromData).
func TestGoldenSchemas(t *testing.T) {
	h, _ := newProvider(t, nil)
	pps, err := h.Plugins()
	if err != nil {
		t.Fatal(err)
	}
	for _, pp := range pps {
		t.Run(pp.Definition.Name, func(t *testing.T) {
			got, err := json.MarshalIndent(map[string]any{"schema": pp.Definition.Schema, "entities": pp.Definition.Entities}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join("testdata", "golden", pp.Definition.Name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenSchemas -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from the conversion:\n%s", file, got)
			}
			if _, err := rtplugin.FromData(pp, rtplugin.JSONSchemaLoader{}); err != nil {
				t.Errorf("the node refuses the definition: %v", err)
			}
		})
	}
}
