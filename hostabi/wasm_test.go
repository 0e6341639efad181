package hostabi_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
)

// TestWasmVersions: packing round-trips, Version packs to
// WasmABIVersion, and CheckWasmVersion accepts the same major with an
// older or equal minor only.
func TestWasmVersions(t *testing.T) {
	host := hostabi.WasmABIVersion()
	if hostabi.FormatWasmVersion(host) != hostabi.Version {
		t.Fatalf("FormatWasmVersion(WasmABIVersion()) = %s", hostabi.FormatWasmVersion(host))
	}
	ma, mi, _ := hostabi.UnpackWasmVersion(host)
	tests := []struct {
		guest uint64
		ok    bool
	}{
		{host, true},
		{hostabi.PackWasmVersion(ma, 0, 0), true},
		{hostabi.PackWasmVersion(ma, mi, 99), true},
		{hostabi.PackWasmVersion(ma, mi+1, 0), false},
		{hostabi.PackWasmVersion(ma+1, 0, 0), false},
		{hostabi.PackWasmVersion(ma-1, 9, 0), false},
	}
	for _, tt := range tests {
		err := hostabi.CheckWasmVersion(tt.guest)
		if (err == nil) != tt.ok {
			t.Errorf("CheckWasmVersion(%s) = %v", hostabi.FormatWasmVersion(tt.guest), err)
		}
		if err != nil && err.Error() != "built for Gatehouse ABI "+hostabi.FormatWasmVersion(tt.guest)+"; this host speaks "+hostabi.Version {
			t.Errorf("message %q", err)
		}
	}
	for p := hostabi.PhaseRewrite; p <= hostabi.PhaseLog; p++ {
		if got, ok := hostabi.PhaseByName(hostabi.WasmPhaseExport(p)); !ok || got != p {
			t.Errorf("phase %s: export %q", p, hostabi.WasmPhaseExport(p))
		}
	}
	for l := hostabi.WasmLogDebug; l <= hostabi.WasmLogCrit; l++ {
		if got, ok := hostabi.WasmLogLevelByName(l.String()); !ok || got != l {
			t.Errorf("level %d", l)
		}
	}
	if hostabi.WasmLogLevel(6).String() != "" {
		t.Error("level 6 has a name")
	}
}

// FuzzParseVersion: ParseVersion never panics, and what it accepts
// formats back to the same numbers.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"2.4.0", "0.0.0", "65535.1.2", "1.2", "a.b.c", "1.2.3.4", "-1.0.0", "99999.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := hostabi.ParseVersion(s)
		if err != nil {
			return
		}
		back := hostabi.FormatWasmVersion(v)
		v2, err := hostabi.ParseVersion(back)
		if err != nil || v2 != v || strings.Count(s, ".") != 2 {
			t.Fatalf("%q -> %x -> %q -> %x, %v", s, v, back, v2, err)
		}
	})
}
