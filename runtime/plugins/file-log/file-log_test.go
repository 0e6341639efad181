package filelog

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestLog: each request appends one JSON line, the file is created with
// mode 0644, and with reopen a file moved away is recreated.
func TestLog(t *testing.T) {
	cases := []struct {
		name   string
		reopen bool
		// afterMove is how many lines the recreated file holds after a
		// request logged once the first file was renamed.
		afterMove int
	}{
		{"kept open", false, 0},
		{"reopen", true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			inst := plugintest.New(t, Schema(), New, map[string]any{"path": path, "reopen": tc.reopen})
			req := plugintest.NewRequest("GET", "/a").WithHeader("proxy-authorization", "x")
			req.Route = hostabi.Entity{"id": "r-1"}
			plugintest.Run(t, inst, hostabi.PhaseLog, req)
			plugintest.Run(t, inst, hostabi.PhaseLog, req)
			ls := lines(t, path)
			if len(ls) != 2 {
				t.Fatalf("%d lines", len(ls))
			}
			rq := ls[0]["request"].(map[string]any)
			if rq["uri"] != "/a" || rq["headers"].(map[string]any)["proxy-authorization"] != "REDACTED" {
				t.Fatalf("record %v", ls[0])
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
				t.Fatalf("mode %v", st.Mode())
			}
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			plugintest.Run(t, inst, hostabi.PhaseLog, req)
			n := 0
			if _, err := os.Stat(path); err == nil {
				n = len(lines(t, path))
			}
			if n != tc.afterMove {
				t.Fatalf("after the move the new file has %d lines, want %d", n, tc.afterMove)
			}
		})
	}
}

// TestSetSerializeValue: a value another plugin set reaches the line.
func TestSetSerializeValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	inst := plugintest.New(t, Schema(), New, map[string]any{"path": path})
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
	k.Log().SetSerializeValue("request.tenant", "acme")
	k.Log().SetSerializeValue("response", nil)
	if err := plugintest.Call(k, inst, hostabi.PhaseLog); err != nil {
		t.Fatal(err)
	}
	l := lines(t, path)[0]
	if l["request"].(map[string]any)["tenant"] != "acme" || l["response"] != nil {
		t.Fatalf("record %v", l)
	}
}

// TestPathValidation: Kong's filename pattern.
func TestPathValidation(t *testing.T) {
	for path, ok := range map[string]bool{"/tmp/a.log": true, "/tmp/a*b": false, "/tmp/a&b": false, "a`b": false, "/tmp/a%b": false} {
		_, errs := plugintest.ValidateConfig(Schema(), map[string]any{"path": path})
		if (len(errs) == 0) != ok {
			t.Errorf("%q: %v", path, errs)
		}
	}
}

// BenchmarkLog measures serializing and appending one line.
func BenchmarkLog(b *testing.B) {
	p := &Plugin{conf: Config{Path: filepath.Join(b.TempDir(), "bench.log")}}
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/orders").WithHeader("accept", "*/*"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseLog); err != nil {
			b.Fatal(err)
		}
	}
}
