package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const formCT = "application/x-www-form-urlencoded"

type M = map[string]any
type A = []any

func TestDecodeForm(t *testing.T) {
	tests := []struct {
		name string
		body string
		want M
	}{
		{"empty body", "", M{}},
		{"single value stays scalar", "name=svc", M{"name": "svc"}},
		{"dotted keys nest", "config.add.headers=a:b", M{"config": M{"add": M{"headers": "a:b"}}}},
		{"dotted siblings merge", "config.a=1&config.b.c=2", M{"config": M{"a": "1", "b": M{"c": "2"}}}},
		{"repeated keys build arrays", "paths=/a&paths=/b", M{"paths": A{"/a", "/b"}}},
		{"three repeats", "paths=/a&paths=/b&paths=/c", M{"paths": A{"/a", "/b", "/c"}}},
		{"repeated dotted key", "config.add.headers=a:1&config.add.headers=b:2",
			M{"config": M{"add": M{"headers": A{"a:1", "b:2"}}}}},
		{"empty brackets make an array of one", "paths[]=/a", M{"paths": A{"/a"}}},
		{"empty brackets append", "paths[]=/a&paths[]=/b", M{"paths": A{"/a", "/b"}}},
		{"1-based indexes", "paths[1]=/a&paths[2]=/b", M{"paths": A{"/a", "/b"}}},
		{"indexes in any order", "paths[2]=/b&paths[1]=/a", M{"paths": A{"/a", "/b"}}},
		{"single index makes an array", "paths[1]=/a", M{"paths": A{"/a"}}},
		{"sparse indexes are compacted", "paths[1]=/a&paths[5]=/e&paths[3]=/c", M{"paths": A{"/a", "/c", "/e"}}},
		{"max index accepted", "paths[1000]=/z", M{"paths": A{"/z"}}},
		{"leading zeros in index", "paths[01]=/a", M{"paths": A{"/a"}}},
		{"dotted key with index", "config.add.headers[1]=x", M{"config": M{"add": M{"headers": A{"x"}}}}},
		{"dotted key with indexes", "config.add.headers[2]=y&config.add.headers[1]=x",
			M{"config": M{"add": M{"headers": A{"x", "y"}}}}},
		{"dotted key with append", "config.add.headers[]=x&config.add.headers[]=y",
			M{"config": M{"add": M{"headers": A{"x", "y"}}}}},
		{"scalar then append", "paths=/a&paths[]=/b", M{"paths": A{"/a", "/b"}}},
		{"append then scalar", "paths[]=/a&paths=/b", M{"paths": A{"/a", "/b"}}},
		{"index then append", "paths[2]=/b&paths[]=/c&paths[1]=/a", M{"paths": A{"/a", "/b", "/c"}}},
		{"index then repeat", "paths[1]=/a&paths=/b", M{"paths": A{"/a", "/b"}}},
		{"arrays of records by index", "targets[1].target=a:1&targets[1].weight=5&targets[2].target=b:2",
			M{"targets": A{M{"target": "a:1", "weight": "5"}, M{"target": "b:2"}}}},
		{"arrays of records by append", "a[].b=1&a[].c=2&a[].b=3&a[].c=4",
			M{"a": A{M{"b": "1", "c": "2"}, M{"b": "3", "c": "4"}}}},
		{"append record with nested map", "a[].b.c=1&a[].b.d=2",
			M{"a": A{M{"b": M{"c": "1", "d": "2"}}}}},
		{"nested arrays", "a[1][]=x&a[1][]=y&a[2][1]=z", M{"a": A{A{"x", "y"}, A{"z"}}}},
		{"bracket map syntax", "config[add][headers]=x", M{"config": M{"add": M{"headers": "x"}}}},
		{"bracket map mixed with dots", "config[add].headers[1]=x&config.add[headers][2]=y",
			M{"config": M{"add": M{"headers": A{"x", "y"}}}}},
		{"dots inside brackets are a key", "config.headers[x.y]=1", M{"config": M{"headers": M{"x.y": "1"}}}},
		{"empty value is null", "name=", M{"name": nil}},
		{"empty nested value is null", "config.add.headers=", M{"config": M{"add": M{"headers": nil}}}},
		{"empty array element is null", "paths[]=&paths[]=/b", M{"paths": A{nil, "/b"}}},
		{"repeated empty values", "tags=&tags=", M{"tags": A{nil, nil}}},
		{"key without = is true", "enabled", M{"enabled": true}},
		{"key without = repeated", "a&a", M{"a": A{true, true}}},
		{"plus and percent escapes", "name=a+b%20c%2Fd%3D%26", M{"name": "a b c/d=&"}},
		{"invalid escapes kept", "name=100%25%zz%4", M{"name": "100%%zz%4"}},
		{"escaped key", "config%2Eadd=1&paths%5B%5D=/a", M{"config": M{"add": "1"}, "paths": A{"/a"}}},
		{"double-escaped brackets", "paths%255B%255D=/a&m%255bk%255d=v", M{"paths": A{"/a"}, "m": M{"k": "v"}}},
		{"value keeps = signs", "k=a=b", M{"k": "a=b"}},
		{"empty pieces skipped", "&&a=1&&b=2&", M{"a": "1", "b": "2"}},
		{"empty keys discarded", "=x&=&a=1", M{"a": "1"}},
		{"semicolon is not a separator", "a=1;b=2", M{"a": "1;b=2"}},
		{"leading dot is literal", ".foo=1", M{".foo": "1"}},
		{"trailing dot is literal", "foo.=1", M{"foo.": "1"}},
		{"double dots collapse", "a..b=1", M{"a": M{"b": "1"}}},
		{"unclosed bracket is literal", "a[1=x", M{"a[1": "x"}},
		{"junk after bracket is literal", "a[1]x=y", M{"a[1]x": "y"}},
		{"bracket-only name is literal", "[1]=x", M{"[1]": "x"}},
		{"bracket-led name", "[a][b]=x", M{"[a]": M{"b": "x"}}},
		{"literal part inside dotted key", "a.b[1=x", M{"a": M{"b[1": "x"}}},
		{"unicode", "name=%E2%9C%93&%C3%A9=1", M{"name": "\u2713", "\u00e9": "1"}},
		{"negative index is a map key", "a[-1]=x", M{"a": M{"-1": "x"}}},
	}
	usesMapSyntax := map[string]bool{
		"bracket map syntax":             true,
		"bracket map mixed with dots":    true,
		"dots inside brackets are a key": true,
		"double-escaped brackets":        true,
		"bracket-led name":               true,
		"negative index is a map key":    true,
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(formCT, []byte(tc.body))
			if err != nil {
				t.Fatalf("Decode(%q): unexpected error: %v", tc.body, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Decode(%q)\n got: %#v\nwant: %#v", tc.body, got, tc.want)
			}
			// The same rules apply to a query string, except for bracket
			// map keys (see TestDecodeQuery).
			if !usesMapSyntax[tc.name] {
				q, err := DecodeQuery(tc.body)
				if err != nil {
					t.Fatalf("DecodeQuery(%q): unexpected error: %v", tc.body, err)
				}
				if !reflect.DeepEqual(q, tc.want) {
					t.Fatalf("DecodeQuery(%q)\n got: %#v\nwant: %#v", tc.body, q, tc.want)
				}
			}
		})
	}
}

func TestDecodeQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want M
	}{
		{"", M{}},
		{"tags=a&tags=b&size=10", M{"tags": A{"a", "b"}, "size": "10"}},
		{"offset=", M{"offset": nil}},
		{"tags[]=a", M{"tags": A{"a"}}},
		// Non-numeric brackets are not map syntax for GET requests.
		{"config[add][headers]=x", M{"config[add][headers]": "x"}},
		{"config.headers[x.y]=1", M{"config": M{"headers[x.y]": "1"}}},
		{"a[1][b]=x", M{"a[1][b]": "x"}},
		// A map group makes the whole part literal before its indexes
		// are even looked at.
		{"a[99999][x]=1", M{"a[99999][x]": "1"}},
	}
	for _, tc := range tests {
		got, err := DecodeQuery(tc.raw)
		if err != nil {
			t.Fatalf("DecodeQuery(%q): unexpected error: %v", tc.raw, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecodeQuery(%q)\n got: %#v\nwant: %#v", tc.raw, got, tc.want)
		}
	}
}

// TestDecodeStrictMaxArgs: the Admin API's decoding refuses a form or
// multipart body with more arguments than the limit, naming it, instead of
// dropping the rest; at the limit everything is kept.
func TestDecodeStrictMaxArgs(t *testing.T) {
	form := func(n int) []byte {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, "paths=/p"+strconv.Itoa(i))
		}
		return []byte(strings.Join(parts, "&"))
	}
	for _, limit := range []int{0, 3, 150} {
		want := limit
		if want == 0 {
			want = MaxArgs
		}
		got, err := DecodeStrict(formCT, form(want), limit)
		if err != nil || len(got["paths"].([]any)) != want {
			t.Fatalf("limit %d: %d arguments: %v, %v", limit, want, got, err)
		}
		_, err = DecodeStrict(formCT, append(form(want), "&name=last"...), limit)
		var be *BodyError
		if !errors.As(err, &be) || be.Message != fmt.Sprintf(TooManyArgsMessage, want) {
			t.Fatalf("limit %d: %d arguments: got %v, want a BodyError naming the limit", limit, want+1, err)
		}
		// Empty pieces and empty keys do not count.
		if _, err := DecodeStrict(formCT, append(form(want), "&&=x&"...), limit); err != nil {
			t.Fatalf("limit %d: empty arguments counted: %v", limit, err)
		}
	}
	var many []string
	for i := 0; i < 4; i++ {
		many = append(many, "a", "x")
	}
	ct, body := multipartBody(t, many...)
	if _, err := DecodeStrict(ct, body, 3); err == nil || !strings.Contains(err.Error(), "more than 3 (lua_max_post_args)") {
		t.Fatalf("multipart with 4 parts, limit 3: %v", err)
	}
	if got, err := DecodeStrict(ct, body, 4); err != nil || len(got["a"].([]any)) != 4 {
		t.Fatalf("multipart with 4 parts, limit 4: %v, %v", got, err)
	}
	// JSON has no argument count.
	if got, err := DecodeStrict("application/json", []byte(`{"a":[1,2,3,4,5]}`), 1); err != nil || len(got["a"].([]any)) != 5 {
		t.Fatalf("JSON: %v, %v", got, err)
	}
}

func TestDecodeFormMaxArgs(t *testing.T) {
	var parts []string
	for i := 0; i < MaxArgs+50; i++ {
		parts = append(parts, "a=x")
	}
	got, err := Decode(formCT, []byte(strings.Join(parts, "&")))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got["a"].([]any)); n != MaxArgs {
		t.Fatalf("got %d values, want %d (arguments past MaxArgs are ignored)", n, MaxArgs)
	}
	// Empty pieces do not count as arguments.
	body := strings.Repeat("&", 500) + "b=1"
	got, err = Decode(formCT, []byte(body))
	if err != nil || got["b"] != "1" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestDecodeFormErrors(t *testing.T) {
	deep := "a" + strings.Repeat(".a", MaxDepth) // MaxDepth+1 segments
	okDeep := "a" + strings.Repeat(".a", MaxDepth-1)
	if _, err := Decode(formCT, []byte(okDeep+"=1")); err != nil {
		t.Fatalf("%d segments must be accepted: %v", MaxDepth, err)
	}
	tests := []struct {
		name, body, contains string
	}{
		{"huge index", "paths[999999999]=x", "out of range"},
		{"huge index digits", "paths[99999999999999999999999999999]=x", "out of range"},
		{"index past max", "paths[1001]=x", "out of range"},
		{"index zero", "paths[0]=x", "out of range"},
		{"nested huge index", "a.b[1][5000].c=x", "out of range"},
		{"too deep dots", deep + "=1", "deeper than"},
		{"too deep brackets", "a" + strings.Repeat("[1]", MaxDepth) + "=1", "deeper than"},
		{"too deep appends", "a" + strings.Repeat("[]", MaxDepth) + "=1", "deeper than"},
		{"scalar then map", "a=1&a.b=2", "conflicts"},
		{"map then scalar", "a.b=1&a=2", "conflicts"},
		{"map then array", "a.b=1&a[]=2", "conflicts"},
		{"array then map", "a[]=1&a.b=2", "conflicts"},
		{"array of scalars then record", "a[1]=x&a[1].b=y", "conflicts"},
		{"duplicate index", "a[1]=x&a[1]=y", "more than once"},
		{"append past max", "a[1000]=x&a[]=y", "longer than"},
		{"repeat past max", "a[1000]=x&a=y", "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(formCT, []byte(tc.body))
			if err == nil {
				t.Fatalf("Decode(%q) = %v, want error", tc.body, got)
			}
			var be *BodyError
			if !errors.As(err, &be) {
				t.Fatalf("error %T is not *BodyError", err)
			}
			if !strings.Contains(be.Message, tc.contains) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error %q does not mention %q", err, tc.contains)
			}
			if _, qerr := DecodeQuery(tc.body); qerr == nil {
				t.Fatalf("DecodeQuery(%q) accepted what Decode rejects", tc.body)
			}
		})
	}
	// In a body, map groups are syntax, so the index is checked (a query
	// keeps this key literally, see TestDecodeQuery).
	if _, err := Decode(formCT, []byte("a[99999][x]=1")); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("huge index before map group: got %v", err)
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           M
	}{
		{"object", "application/json", `{"name":"svc","port":8080,"ratio":0.5,"on":true,"tags":["a","b"],"x":null}`,
			M{"name": "svc", "port": json.Number("8080"), "ratio": json.Number("0.5"), "on": true, "tags": A{"a", "b"}, "x": nil}},
		{"nested", "application/json", `{"config":{"add":{"headers":["a:b"]}}}`,
			M{"config": M{"add": M{"headers": A{"a:b"}}}}},
		{"charset parameter", "application/json; charset=utf-8", `{"a":"1"}`, M{"a": "1"}},
		{"surrounding whitespace", "application/json", " \n{\"a\":\"1\"}\n ", M{"a": "1"}},
		{"empty object", "application/json", `{}`, M{}},
		{"empty body", "application/json", ``, M{}},
		{"big number kept exact", "application/json", `{"n":123456789012345678901234567890}`,
			M{"n": json.Number("123456789012345678901234567890")}},
		{"dotted keys are not split in JSON", "application/json", `{"config.a":"1","p[]":"x"}`,
			M{"config.a": "1", "p[]": "x"}},
		{"empty string stays a string in JSON", "application/json", `{"a":""}`, M{"a": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.ct, []byte(tc.body))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("\n got: %#v\nwant: %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	tooDeep := strings.Repeat(`{"a":`, MaxJSONDepth) + `[]` + strings.Repeat(`}`, MaxJSONDepth)
	okDeep := strings.Repeat(`{"a":`, MaxJSONDepth-1) + `[]` + strings.Repeat(`}`, MaxJSONDepth-1)
	if _, err := Decode("application/json", []byte(okDeep)); err != nil {
		t.Fatalf("depth %d must be accepted: %v", MaxJSONDepth, err)
	}
	bodies := []string{
		`[1,2]`, `null`, `"x"`, `12`, `true`,
		`{`, `{"a":}`, `{} {}`, `{}x`, `{}]`, "   ", `{'a':1}`,
		tooDeep,
		strings.Repeat("[", 100000), // deep without closing brackets
	}
	for _, b := range bodies {
		_, err := Decode("application/json", []byte(b))
		var be *BodyError
		if !errors.As(err, &be) {
			t.Fatalf("Decode(%.40q): got %v, want *BodyError", b, err)
		}
		if be.Message != CannotParseJSONMessage {
			t.Fatalf("Decode(%.40q): message %q, want %q", b, be.Message, CannotParseJSONMessage)
		}
		if be.Unwrap() == nil {
			t.Fatalf("Decode(%.40q): no underlying cause", b)
		}
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	if UnsupportedMediaTypeMessage != "Unsupported Media Type" {
		t.Fatalf("UnsupportedMediaTypeMessage = %q", UnsupportedMediaTypeMessage)
	}
	tests := []struct {
		ct, body string
	}{
		{"text/plain", "hello"},
		{"text/plain", ""}, // Kong rejects the type even without a body
		{"application/xml", "<a/>"},
		{"", "invalid"},            // a body without a content type is 415 in Kong
		{"", `{"a":1}`},            // even when it looks like JSON
		{"", "name=x"},             // or like a form
		{"Application/JSON", `{}`}, // Kong compares case-sensitively
		{"json", `{}`},
		{"application/x-www-form", "a=1"},
		{"multipart/mixed; boundary=x", "--x--"},
	}
	for _, tc := range tests {
		got, err := Decode(tc.ct, []byte(tc.body))
		var ue *UnsupportedMediaTypeError
		if !errors.As(err, &ue) {
			t.Fatalf("Decode(%q, %q) = %v, %v; want *UnsupportedMediaTypeError", tc.ct, tc.body, got, err)
		}
		if ue.ContentType != tc.ct {
			t.Fatalf("ContentType = %q, want %q", ue.ContentType, tc.ct)
		}
		if err.Error() == "" {
			t.Fatal("empty error text")
		}
	}
	// No content type and no body: nothing to decode.
	got, err := Decode("", nil)
	if err != nil || len(got) != 0 || got == nil {
		t.Fatalf("Decode(\"\", nil) = %#v, %v; want empty map", got, err)
	}
	// Accepted types with parameters.
	for _, ct := range []string{
		"application/x-www-form-urlencoded; charset=UTF-8",
		"application/json;charset=utf-8",
		" application/json",
	} {
		if _, err := Decode(ct, nil); err != nil {
			t.Fatalf("Decode(%q, nil): %v", ct, err)
		}
	}
}

// TestJSONFormEquivalence checks that form bodies decode to the same tree
// as the JSON body Kong treats as equivalent (with string leaves, since
// forms carry no types).
func TestJSONFormEquivalence(t *testing.T) {
	tests := []struct{ form, json string }{
		{"name=svc&host=example.com", `{"name":"svc","host":"example.com"}`},
		{"paths[]=/a", `{"paths":["/a"]}`},
		{"paths=/a&paths=/b", `{"paths":["/a","/b"]}`},
		{"paths[1]=/a&paths[2]=/b", `{"paths":["/a","/b"]}`},
		{"config.add.headers=a:b", `{"config":{"add":{"headers":"a:b"}}}`},
		{"config.add.headers[1]=a:b&config.add.headers[2]=c:d", `{"config":{"add":{"headers":["a:b","c:d"]}}}`},
		{"config[remove][headers][]=x", `{"config":{"remove":{"headers":["x"]}}}`},
		{"name=svc&config.minute=5&tags[]=t1&tags[]=t2&host=",
			`{"name":"svc","config":{"minute":"5"},"tags":["t1","t2"],"host":null}`},
		{"targets[1].target=a:80&targets[1].weight=10&targets[2].target=b:80",
			`{"targets":[{"target":"a:80","weight":"10"},{"target":"b:80"}]}`},
	}
	for _, tc := range tests {
		f, err := Decode(formCT, []byte(tc.form))
		if err != nil {
			t.Fatalf("form %q: %v", tc.form, err)
		}
		j, err := Decode("application/json", []byte(tc.json))
		if err != nil {
			t.Fatalf("json %q: %v", tc.json, err)
		}
		if !reflect.DeepEqual(f, j) {
			t.Errorf("form %q and JSON %s differ:\nform: %#v\njson: %#v", tc.form, tc.json, f, j)
		}
		// And the multipart encoding of the same arguments.
		ct, body := multipartBody(t, formPairs(t, tc.form)...)
		mp, err := Decode(ct, body)
		if err != nil {
			t.Fatalf("multipart %q: %v", tc.form, err)
		}
		if !reflect.DeepEqual(mp, j) {
			t.Errorf("multipart %q and JSON %s differ:\nmultipart: %#v\njson: %#v", tc.form, tc.json, mp, j)
		}
	}
}

// formPairs splits a simple test form body (no escapes) into key, value
// pairs.
func formPairs(t *testing.T, form string) []string {
	t.Helper()
	var kv []string
	for _, p := range strings.Split(form, "&") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Fatalf("bad test form %q", form)
		}
		kv = append(kv, k, v)
	}
	return kv
}

// multipartBody builds a multipart/form-data body from key, value pairs.
func multipartBody(t *testing.T, kv ...string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		if err := w.WriteField(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

func TestDecodeMultipart(t *testing.T) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteField("name", "svc"))
	must(w.WriteField("paths", "/a"))
	must(w.WriteField("paths", "/b"))
	must(w.WriteField("config.add.headers[1]", "x:y"))
	must(w.WriteField("config[remove][headers][]", "z"))
	must(w.WriteField("host", ""))
	fw, err := w.CreateFormFile("cert", "cert.pem")
	must(err)
	_, err = fw.Write([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	must(err)
	jw, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="meta"`},
		"Content-Type":        {"application/json"},
	})
	must(err)
	_, err = jw.Write([]byte(`{"a":1}`))
	must(err)
	// A part without a name is ignored.
	uw, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain"}})
	must(err)
	_, err = uw.Write([]byte("orphan"))
	must(err)
	must(w.Close())

	want := M{
		"name":  "svc",
		"paths": A{"/a", "/b"},
		"config": M{
			"add":    M{"headers": A{"x:y"}},
			"remove": M{"headers": A{"z"}},
		},
		"host": nil,
		"cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"meta": `{"a":1}`,
	}
	got, err := Decode(w.FormDataContentType(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got: %#v\nwant: %#v", got, want)
	}

	// Quoted boundary parameter.
	quoted := `multipart/form-data; boundary="` + w.Boundary() + `"`
	if got, err := Decode(quoted, buf.Bytes()); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("quoted boundary: %v, %v", got, err)
	}
	// Boundary recovered by Kong's lenient scan when the header does not
	// parse as a media type.
	lenient := "multipart/form-data; junk; boundary=" + w.Boundary()
	if got, err := Decode(lenient, buf.Bytes()); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("lenient boundary: %v, %v", got, err)
	}
	// Empty body, and a body holding only the closing delimiter.
	if got, err := Decode(w.FormDataContentType(), nil); err != nil || len(got) != 0 {
		t.Fatalf("empty multipart: %v, %v", got, err)
	}
	if got, err := Decode("multipart/form-data; boundary=xyz", []byte("--xyz--\r\n")); err != nil || len(got) != 0 {
		t.Fatalf("multipart without parts: %v, %v", got, err)
	}
}

func TestDecodeMultipartErrors(t *testing.T) {
	ct, body := multipartBody(t, "a", "1")
	var many []string
	for i := 0; i <= MaxArgs; i++ {
		many = append(many, "a", "x")
	}
	manyCT, manyBody := multipartBody(t, many...)
	okCT, okBody := multipartBody(t, many[:2*MaxArgs]...)
	if got, err := Decode(okCT, okBody); err != nil || len(got["a"].([]any)) != MaxArgs {
		t.Fatalf("%d parts must be accepted: %v", MaxArgs, err)
	}
	_, deepBody := multipartBody(t, "a"+strings.Repeat("[]", MaxDepth), "1")
	deepCT := "multipart/form-data; boundary=" + boundaryOf(t, deepBody)

	tests := []struct {
		name, ct string
		body     []byte
		contains string
	}{
		{"no boundary", "multipart/form-data", body, "boundary"},
		{"wrong boundary", "multipart/form-data; boundary=nope", body, "malformed"},
		{"truncated", ct, body[:len(body)-10], "malformed"},
		{"garbage", ct, []byte("not multipart at all"), "malformed"},
		{"too many parts", manyCT, manyBody, "more than 100 (lua_max_post_args)"},
		{"too deep key", deepCT, deepBody, "deeper than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.ct, tc.body)
			var be *BodyError
			if !errors.As(err, &be) {
				t.Fatalf("got %v, %v; want *BodyError", got, err)
			}
			if !strings.Contains(be.Error(), tc.contains) {
				t.Fatalf("error %q does not mention %q", be, tc.contains)
			}
		})
	}
}

// boundaryOf reads the boundary from the first line of a multipart body.
func boundaryOf(t *testing.T, body []byte) string {
	t.Helper()
	line, _, _ := bytes.Cut(body, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("--")) {
		t.Fatalf("not a multipart body: %q", line)
	}
	return string(line[2:])
}

// TestHostileKeys checks that pathological keys are handled in linear time
// and memory: each case would take minutes if parsing were quadratic.
func TestHostileKeys(t *testing.T) {
	const n = 1 << 20
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"unclosed brackets", "a" + strings.Repeat("[", n) + "=1", false},
		{"unclosed brackets then close", "a" + strings.Repeat("[", n) + "]=1", false},
		{"many dots", strings.Repeat("a.", n) + "a=1", true},
		{"many empty dots", "a" + strings.Repeat(".", n) + "b=1", false},
		{"many groups", "a" + strings.Repeat("[]", n) + "=1", true},
		{"many groups then junk", "a" + strings.Repeat("[]", n) + "x=1", false},
		{"many escaped brackets", "a" + strings.Repeat("%5B", n) + "=1", false},
		{"long index", "a[" + strings.Repeat("9", n) + "]=1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 3; i++ { // repeated keys go through insert too
				body := strings.Repeat(tc.body+"&", i+1)
				_, err := Decode(formCT, []byte(body))
				if (err != nil) != tc.wantErr {
					t.Fatalf("error = %v, want error: %v", err, tc.wantErr)
				}
			}
		})
	}
}

func TestBodyErrorText(t *testing.T) {
	e := &BodyError{Message: "m"}
	if e.Error() != "reqbody: m" || e.Unwrap() != nil {
		t.Fatalf("got %q", e.Error())
	}
	e = &BodyError{Message: "m", Err: errors.New("cause")}
	if e.Error() != "reqbody: m: cause" {
		t.Fatalf("got %q", e.Error())
	}
}

// TestDecodeCopiesValues: nothing DecodeStrict returns shares memory with
// the body it was given. The Admin API stores decoded values, and fasthttp
// reuses a body's buffer for the next request on the connection (issue 7
// item 1), so overwriting the buffer afterwards must not change them.
func TestDecodeCopiesValues(t *testing.T) {
	mct, mbody := multipartBody(t, "name", "svc-name", "tags[]", "t1", "tags[]", "t2")
	cases := []struct{ ct, body string }{
		{"application/json", `{"name":"svc-name","tags":["t1","t2"],"n":12,"service":{"id":"5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}}`},
		{formCT, "name=svc-name&tags=t1&tags=t2&service.id=5cc8dee4-066d-492e-b2f8-bd77eb0a4c86&flag"},
		{formCT, "name=svc%2Dname&tags[]=t1&tags[]=t2"},
		{mct, string(mbody)},
	}
	for _, tc := range cases {
		buf := []byte(tc.body)
		got, err := DecodeStrict(tc.ct, buf, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.ct, err)
		}
		want, _ := json.Marshal(got)
		for i := range buf {
			buf[i] = 'X'
		}
		if after, _ := json.Marshal(got); !bytes.Equal(after, want) {
			t.Fatalf("%s: decoded values changed with the body buffer:\n%s\nwas\n%s", tc.ct, after, want)
		}
	}
}
