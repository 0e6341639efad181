package scan

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScanJSONFixtures(t *testing.T) {
	cases := []struct {
		file  string
		l     JSONLimits
		limit string // "" = no violation
	}{
		{"nested4.json", JSONLimits{MaxContainerDepth: 3}, "max_container_depth"},
		{"nested4.json", JSONLimits{MaxContainerDepth: 4}, ""},
		{"nested4.json", JSONLimits{MaxContainerDepth: -1}, ""},
		{"flat.json", JSONLimits{MaxContainerDepth: 2, MaxObjectEntries: 7, MaxEntryNameLength: 7, MaxArrayElements: 3, MaxStringLength: 16}, ""},
		{"flat.json", JSONLimits{MaxContainerDepth: 1}, "max_container_depth"},
		{"flat.json", JSONLimits{MaxObjectEntries: 6}, "max_object_entries"},
		{"flat.json", JSONLimits{MaxArrayElements: 2}, "max_array_elements"},
		{"flat.json", JSONLimits{MaxEntryNameLength: 6}, "max_entry_name_length"},
		{"flat.json", JSONLimits{MaxStringLength: 15}, "max_string_length"},
		{"long_string.json", JSONLimits{MaxStringLength: 42}, ""},
		{"long_string.json", JSONLimits{MaxStringLength: 41}, "max_string_length"},
		{"many_entries.json", JSONLimits{MaxObjectEntries: 6}, ""},
		{"many_entries.json", JSONLimits{MaxObjectEntries: 5}, "max_object_entries"},
		{"long_name.json", JSONLimits{MaxEntryNameLength: 38}, ""},
		{"long_name.json", JSONLimits{MaxEntryNameLength: 37}, "max_entry_name_length"},
		{"big_array.json", JSONLimits{MaxArrayElements: 11}, ""},
		{"big_array.json", JSONLimits{MaxArrayElements: 10}, "max_array_elements"},
		{"trailing_comma.json", JSONLimits{}, "syntax"},
		{"unterminated.json", JSONLimits{}, "syntax"},
		{"two_values.json", JSONLimits{}, "syntax"},
	}
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join("testdata", "json", c.file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := ScanJSON(strings.NewReader(string(data)), c.l)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		got := ""
		if v != nil {
			got = v.Limit
			if v.Filter != "json" || v.Message == "" {
				t.Errorf("%s: bad violation %+v", c.file, v)
			}
		}
		if got != c.limit {
			t.Errorf("%s %+v: violation %q (%v), want %q", c.file, c.l, got, v, c.limit)
		}
	}
}

func TestScanJSONMessage(t *testing.T) {
	v, err := ScanJSON(strings.NewReader(`{"a":{"b":{"c":{"d":1}}}}`), JSONLimits{MaxContainerDepth: 3})
	if err != nil || v == nil {
		t.Fatalf("got %v, %v", v, err)
	}
	if v.Message != "JSON container depth 4 exceeds 3" || v.Offset != 16 {
		t.Errorf("got %+v", v)
	}
}

func TestScanJSONSyntax(t *testing.T) {
	bad := []string{`{`, `[1,]`, `{"a"}`, `{"a":}`, `{1:2}`, `"abc`, `tru`, `nul`, `01x`, `-`, `1.`, `1e`, `"\x"`, `"\u12G4"`, "\"a\x01\"", `]`, `{"a":1]`, `[1}`, `1 2`}
	for _, in := range bad {
		v, err := ScanJSON(strings.NewReader(in), JSONLimits{})
		if err != nil || v == nil || v.Limit != "syntax" {
			t.Errorf("%q: got %v, %v; want a syntax violation", in, v, err)
		}
	}
	good := []string{``, `  `, `0`, `-0.5e+10`, `"\u00e9\n"`, `[]`, `{}`, `[[],[{}]]`, `{"a":[1,{"b":null}],"c":true}`, " \t\r\n[1]\n"}
	for _, in := range good {
		if v, err := ScanJSON(strings.NewReader(in), JSONLimits{}); v != nil || err != nil {
			t.Errorf("%q: got %v, %v; want none", in, v, err)
		}
	}
}

// The case: a 100 MiB body nested 4 deep against limit 3 is rejected
// after its first bytes, never buffered.
func TestScanJSON100MiBRejectedEarly(t *testing.T) {
	g := &genReader{prefix: `{"a":{"b":{"c":{"d":`, fill: `[1,2,3,4,5,6,7,8,9],`, size: 100 * mib, suffix: "0}}}}"}
	var v *Violation
	var err error
	alloc := allocated(t, func() { v, err = ScanJSON(g, JSONLimits{MaxContainerDepth: 3}) })
	if err != nil || v == nil || v.Limit != "max_container_depth" {
		t.Fatalf("got %v, %v", v, err)
	}
	if g.read > bufSize {
		t.Errorf("read %d bytes of a 100 MiB body, want at most %d", g.read, bufSize)
	}
	if v.Offset != 16 {
		t.Errorf("offset %d, want 16", v.Offset)
	}
	if alloc > 64<<10 {
		t.Errorf("allocated %d bytes", alloc)
	}
	t.Logf("100 MiB body: rejected after reading %d bytes, %d bytes allocated", g.read, alloc)
}

// A 1 GiB string against MaxStringLength 100 stops after ~100 characters;
// unlimited, the whole GiB streams through in constant memory.
func TestScanJSONHugeStringBounded(t *testing.T) {
	g := &genReader{prefix: `{"s":"`, fill: "abcdefgh", size: 1 << 30, suffix: `"}`}
	var v *Violation
	var err error
	alloc := allocated(t, func() { v, err = ScanJSON(g, JSONLimits{MaxStringLength: 100}) })
	if err != nil || v == nil || v.Limit != "max_string_length" {
		t.Fatalf("got %v, %v", v, err)
	}
	if g.read > bufSize || alloc > 64<<10 {
		t.Errorf("read %d, allocated %d", g.read, alloc)
	}
	if testing.Short() {
		return
	}
	g = &genReader{prefix: `{"s":"`, fill: "abcdefgh", size: 8 * mib, suffix: `"}`}
	alloc = allocated(t, func() { v, err = ScanJSON(g, JSONLimits{MaxContainerDepth: 3}) })
	if err != nil || v != nil {
		t.Fatalf("got %v, %v", v, err)
	}
	if g.read != 8*mib+2 || alloc > 64<<10 {
		t.Errorf("read %d, allocated %d", g.read, alloc)
	}
}

func TestScanJSONHardDepthCap(t *testing.T) {
	g := &genReader{prefix: "", fill: "[", size: 50 * mib}
	var v *Violation
	alloc := allocated(t, func() { v, _ = ScanJSON(g, JSONLimits{}) })
	if v == nil || v.Limit != "max_container_depth" || !strings.Contains(v.Message, "10001 exceeds 10000") {
		t.Fatalf("got %v", v)
	}
	if alloc > 1<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
}

func TestScanJSONReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := ScanJSON(&errReader{data: `{"a": [1, 2`, err: boom}, JSONLimits{})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	// A violation found before the error is still reported.
	v, err := ScanJSON(&errReader{data: `[[[[`, err: boom}, JSONLimits{MaxContainerDepth: 2})
	if err != nil || v == nil || v.Limit != "max_container_depth" {
		t.Fatalf("got %v, %v", v, err)
	}
}

// Unlimited, ScanJSON agrees with encoding/json on validity.
func checkJSONAgainstStdlib(t *testing.T, in []byte) {
	v, err := ScanJSON(strings.NewReader(string(in)), JSONLimits{})
	if err != nil {
		t.Fatalf("%q: %v", in, err)
	}
	if strings.TrimSpace(string(in)) == "" || (v != nil && v.Limit == "max_container_depth") {
		return
	}
	if valid := json.Valid(in); valid != (v == nil) {
		t.Fatalf("%q: json.Valid=%v, ScanJSON violation %v", in, valid, v)
	}
}

func TestScanJSONAgreesWithStdlib(t *testing.T) {
	for _, in := range []string{`{"a":1}`, `[1,2`, `"\ud800"`, `1e5`, `{"a":"b",}`, `[-]`, `[.5]`, `[1.5E-3]`, "[\"\xff\"]", `{"":""}`} {
		checkJSONAgainstStdlib(t, []byte(in))
	}
}
