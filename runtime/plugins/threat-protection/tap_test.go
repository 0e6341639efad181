package threatprotection

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/runtime/threat"
	"github.com/gatehouse/gatehouse/runtime/threat/scan"
)

// FuzzBodyTap: a body fed to the tap in arbitrary pieces gets the verdict
// the scanner gives the whole body, and the tap leaves no goroutine
// behind, whether the body completes or is abandoned.
func FuzzBodyTap(f *testing.F) {
	for _, s := range []string{`[[[[1]]]]`, `{"a":{"b":[1,2]}}`, `[1,2`, ``, `{"k":"` + string(bytes.Repeat([]byte("x"), 300)) + `"}`, `<a/>`} {
		f.Add([]byte(s), uint8(3), uint8(1), true)
	}
	inst, err := New(map[string]any{"rules": []any{
		map[string]any{"name": "deny", "filters": map[string]any{"json": map[string]any{"max_container_depth": 3, "max_string_length": 100}}},
		map[string]any{"name": "watch", "action": "alert", "filters": map[string]any{"json": map[string]any{"max_container_depth": 2}}},
	}})
	if err != nil {
		f.Fatal(err)
	}
	p := inst.(*Plugin)
	set, err := policy.NewCompiler(policy.Options{Timeout: time.Second}).Build(1, nil)
	if err != nil {
		f.Fatal(err)
	}
	p.BindPolicies(set)
	p.events = threat.NewRing(16)
	f.Fuzz(func(t *testing.T, body []byte, step, abandonAt uint8, complete bool) {
		want, _ := scan.ScanJSON(bytes.NewReader(body), *p.rules[0].json)
		tap := &bodyTap{p: p, info: reqInfo{ip: "192.0.2.1", path: "/"}}
		for _, r := range p.rules {
			tap.add(r, filterJSON)
		}
		if err := tap.start(); err != nil {
			t.Fatal(err)
		}
		n := int(step%16) + 1
		var got *threat.Refusal
		for i := 0; i < len(body) && got == nil; i += n {
			if !complete && i/n == int(abandonAt) {
				break
			}
			got = tap.Write(body[i:min(i+n, len(body))])
		}
		if got == nil {
			got = tap.End(complete)
		} else {
			tap.End(false)
		}
		if complete {
			if (want != nil) != (got != nil) {
				t.Fatalf("body %q in pieces of %d: refusal %v, whole-body violation %v", body, n, got, want)
			}
			if got != nil && (got.Status != 403 || got.Message != "Request blocked by threat protection") {
				t.Fatalf("refusal %+v", got)
			}
		}
		// End waits for every scanner's result; the goroutine returns right
		// after sending it.
		for i := 0; i < 1000 && scanners.Load() != 0; i++ {
			time.Sleep(time.Millisecond)
		}
		if n := scanners.Load(); n != 0 {
			t.Fatalf("%d scanner goroutines left", n)
		}
	})
}

// TestBodyKind: a Content-Type that does not parse as a media type is
// still classified by its type, so a malformed header cannot slip a JSON
// or XML body past its filter.
func TestBodyKind(t *testing.T) {
	for ct, want := range map[string]string{
		"application/json": "json", "application/json; charset=utf-8": "json", "application/problem+json": "json",
		"APPLICATION/JSON": "json", "application/json;;": "json", "application/json; charset": "json",
		"text/xml": "xml", "application/soap+xml; x=\"": "xml", "text/plain": "", "": "", "multipart/form-data": "",
	} {
		if got := bodyKind(ct); got != want {
			t.Errorf("%q: %q, want %q", ct, got, want)
		}
	}
}
