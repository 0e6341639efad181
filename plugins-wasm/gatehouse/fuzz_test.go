package gatehouse

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// fuzzOps are the operations FuzzCallArgs drives: every row of the phase
// table except those that leave the process (kong.http.do, kong.timer.at)
// or need a store (kong.db.*).
var fuzzOps = func() []string {
	var out []string
	for _, o := range hostabi.Operations() {
		if strings.HasPrefix(o.Name, "kong.db.") || o.Op == hostabi.OpHTTPDo || o.Op == hostabi.OpTimersAfter {
			continue
		}
		out = append(out, o.Name)
	}
	return out
}()

// FuzzCallArgs: the generic call decodes any argument bytes a guest sends
// without a panic other than its trap (a *wasmhost.HostError) or the
// phase check's *hostabi.PhaseError, and what it returns is JSON.
func FuzzCallArgs(f *testing.F) {
	f.Add(uint8(0), []byte(`[]`))
	f.Add(uint8(11), []byte(`["a"]`))
	f.Add(uint8(23), []byte(`["X-A","1"]`))
	f.Add(uint8(40), []byte(`[418,"body",{"X":"1"}]`))
	f.Add(uint8(60), []byte(`["k",{"v":[1,2,null]}]`))
	f.Add(uint8(64), []byte(`["info","msg","k",1]`))
	f.Add(uint8(70), []byte(`["key",1e308,-5]`))
	f.Add(uint8(5), []byte(`[1.5`))
	f.Fuzz(func(t *testing.T, opIndex uint8, args []byte) {
		name := fuzzOps[int(opIndex)%len(fuzzOps)]
		k := plugintest.NewEnv().NewKong(plugintest.NewRequest("POST", "/x?a=1").WithHeader("X-A", "1").WithJSON(map[string]any{"k": "v"}))
		k.SetPhase(hostabi.PhaseAccess)
		c := &call{plugin: &Plugin{module: &wasmhost.Module{Name: "fuzz"}}, guest: &guest{}, k: k, phase: hostabi.PhaseAccess, export: "access"}
		out, ok := dispatchRecovered(t, c, name, args)
		if ok && !json.Valid(out) {
			t.Fatalf("%s %s: result %q is not JSON", name, args, out)
		}
		c.abandonLoads(k)
	})
}

func dispatchRecovered(t *testing.T, c *call, name string, args []byte) (out []byte, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			err, isErr := r.(error)
			var he *wasmhost.HostError
			var pe *hostabi.PhaseError
			if !isErr || !(errors.As(err, &he) || errors.As(err, &pe)) {
				t.Fatalf("%s %s: panic %v", name, args, r)
			}
			ok = false
		}
	}()
	return c.dispatch(name, args), true
}

// FuzzDescribe: any description a guest's describe hands over either
// defines the plugin (phases within the exports, a schema with a config
// record) or is an error; never a panic.
func FuzzDescribe(f *testing.F) {
	f.Add([]byte(`{"version":"1.0.0","priority":10,"phases":["access"],"config":{"type":"record","fields":[]}}`))
	f.Add([]byte(`{"phases":["init_worker"]}`))
	f.Add([]byte(`{"phases":["rewrite","log"],"protocols":["http"],"no_consumer":true}`))
	f.Add([]byte(`{"config":null,"priority":-1}`))
	rt, err := wasmhost.NewRuntime(context.Background(), wasmhost.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer rt.Close(context.Background())
	m, err := rt.Compile(context.Background(), "fz", accessModule())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &Plugin{module: m, desc: hostabi.WasmDescription{Version: "0.1.0"}}
		if json.Unmarshal(data, &p.desc) != nil {
			return
		}
		if err := p.define(); err != nil {
			return
		}
		if p.phases&^hostabi.Phases(hostabi.PhaseAccess) != 0 {
			t.Fatalf("phases %s beyond the exports", p.phases)
		}
		fields, _ := p.def.Schema["fields"].([]any)
		if len(fields) < 4 {
			t.Fatalf("schema %v", p.def.Schema)
		}
	})
}

// accessModule is a minimal module exporting memory, the ABI version and
// an access function.
func accessModule() []byte {
	leb := func(b []byte, v int64) []byte {
		for {
			c := byte(v & 0x7f)
			v >>= 7
			if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
				return append(b, c)
			}
			b = append(b, c|0x80)
		}
	}
	section := func(id byte, body []byte) []byte {
		return append(append([]byte{id}, leb(nil, int64(len(body)))...), body...)
	}
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, []byte{2, 0x60, 0, 1, 0x7e, 0x60, 0, 1, 0x7f})...)
	m = append(m, section(3, []byte{2, 0, 1})...)
	m = append(m, section(5, []byte{1, 0, 1})...)
	ex := []byte{3}
	ex = append(append(ex, name(hostabi.WasmExportABIVersion)...), 0, 0)
	ex = append(append(ex, name("access")...), 0, 1)
	ex = append(append(ex, name("memory")...), 2, 0)
	m = append(m, section(7, ex)...)
	v := leb([]byte{0, 0x42}, int64(hostabi.WasmABIVersion()))
	v = append(v, 0x0b)
	a := []byte{0, 0x41, 0, 0x0b}
	code := []byte{2}
	code = append(leb(code, int64(len(v))), v...)
	code = append(leb(code, int64(len(a))), a...)
	return append(m, section(10, code)...)
}
