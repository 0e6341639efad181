package scan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addFiles(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

func FuzzScanJSON(f *testing.F) {
	addFiles(f, "json")
	for _, s := range []string{`[]`, `{"a":[1,{"b":"c"}]}`, `"\u00e9"`, `-0.1e5`, `[[[[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkJSONAgainstStdlib(t, in)
		// With tight limits, a violation is reported before the input ends
		// and names a known limit.
		v, err := ScanJSON(bytes.NewReader(in), JSONLimits{MaxContainerDepth: 2, MaxObjectEntries: 2, MaxEntryNameLength: 2, MaxArrayElements: 2, MaxStringLength: 2})
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			switch v.Limit {
			case "syntax", "max_container_depth", "max_object_entries", "max_entry_name_length", "max_array_elements", "max_string_length":
			default:
				t.Fatalf("unknown limit %q", v.Limit)
			}
			if v.Offset < 0 || v.Offset > int64(len(in)) {
				t.Fatalf("offset %d out of range", v.Offset)
			}
		}
	})
}

func FuzzScanXML(f *testing.F) {
	addFiles(f, "xml")
	for _, s := range []string{`<a/>`, `<a b="c">d<!--e--><?f g?><![CDATA[h]]></a>`, `<a xmlns:p="u"><p:b/></a>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := ScanXML(bytes.NewReader(in), XMLLimits{}); err != nil {
			t.Fatal(err)
		}
		l := XMLLimits{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
		v, err := ScanXML(bytes.NewReader(in), l)
		if err != nil {
			t.Fatal(err)
		}
		if v != nil && (v.Filter != "xml" || v.Offset < 0 || v.Offset > int64(len(in))) {
			t.Fatalf("bad violation %+v", v)
		}
	})
}

func FuzzSQLInjection(f *testing.F) {
	for _, name := range []string{"attacks.txt", "benign.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", "sqli", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := SQLInjection(v)
		// Detection does not depend on letter case.
		if upper := strings.ToUpper(v); strings.ToLower(upper) == strings.ToLower(v) && SQLInjection(upper) != got && isASCII(v) {
			t.Fatalf("%q and %q disagree", v, upper)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func FuzzParams(f *testing.F) {
	f.Add("application/json", []byte(`{"a":{"b":["c"]}}`), "q", "v")
	f.Add("application/x-www-form-urlencoded", []byte(`a=b&c=%27`), "", "")
	f.Add("multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--X--\r\n"), "x", "y")
	f.Fuzz(func(t *testing.T, ct string, body []byte, qn, qv string) {
		n := 0
		Params(map[string][]string{qn: {qv}}, ct, body, 50, func(name, value string) bool {
			n++
			// encoding/json turns each invalid UTF-8 byte into U+FFFD
			// (3 bytes): nothing else can make a value longer.
			if len(value) > 3*len(body)+len(qv) {
				t.Fatalf("value %q longer than the input allows", value)
			}
			return true
		})
		if n > 50 {
			t.Fatalf("%d params past the bound", n)
		}
	})
}
