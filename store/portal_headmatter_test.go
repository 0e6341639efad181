package store

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseHeadmatter(t *testing.T) {
	training, err := os.ReadFile("testdata/portal/iam-training.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, contents string
		want                 []string
		fields               map[string]any
		err                  string
	}{
		{name: "training spec", path: "specs/iam-training.yml", contents: string(training), want: []string{"dev"}},
		{name: "spec without headmatter", path: "specs/a.yml", contents: "swagger: '2.0'\n", want: nil},
		{name: "json spec", path: "specs/a.json", contents: `{"openapi":"3.0.0","x-headmatter":{"readable_by":["dev","ops"],"title":"A"}}`,
			want: []string{"dev", "ops"}, fields: map[string]any{"title": "A"}},
		{name: "star", path: "specs/a.yaml", contents: "x-headmatter:\n  readable_by: '*'\n", want: []string{"*"}},
		{name: "null headmatter", path: "specs/a.yml", contents: "x-headmatter:\nopenapi: 3.0.0\n", want: nil},
		{name: "yml outside specs is a spec", path: "content/x.yml", contents: "x-headmatter:\n  readable_by: [a]\n", want: []string{"a"}},
		{name: "not an object", path: "specs/a.yml", contents: "- a\n", err: "must be a YAML or JSON object"},
		{name: "scalar", path: "specs/a.yml", contents: "hello", err: "must be a YAML or JSON object"},
		{name: "empty spec", path: "specs/a.yml", contents: "", err: "must be a YAML or JSON object"},
		{name: "broken yaml", path: "specs/a.yml", contents: "a: [b\n", err: "must be a YAML or JSON object"},
		{name: "headmatter a list", path: "specs/a.yml", contents: "x-headmatter: [1]\n", err: "x-headmatter must be an object"},
		{name: "readable_by a number", path: "specs/a.yml", contents: "x-headmatter:\n  readable_by: 5\n", err: "readable_by"},
		{name: "readable_by other string", path: "specs/a.yml", contents: "x-headmatter:\n  readable_by: dev\n", err: "readable_by"},
		{name: "readable_by with a number", path: "specs/a.yml", contents: "x-headmatter:\n  readable_by: [dev, 3]\n", err: "readable_by"},
		{name: "readable_by blank", path: "specs/a.yml", contents: "x-headmatter:\n  readable_by: [' ']\n", err: "readable_by"},
		{name: "page front matter", path: "content/guide.md", contents: "---\ntitle: Guide\nreadable_by:\n  - dev\n---\n# Guide\n",
			want: []string{"dev"}, fields: map[string]any{"title": "Guide"}},
		{name: "page crlf front matter", path: "content/guide.md", contents: "---\r\nreadable_by: [dev]\r\n---\r\nbody", want: []string{"dev"}},
		{name: "page without front matter", path: "content/guide.md", contents: "# Guide\n---\n", want: nil},
		{name: "unterminated front matter", path: "content/guide.md", contents: "---\nreadable_by: [dev]\n", want: nil},
		{name: "bad front matter", path: "content/guide.md", contents: "---\n[a\n---\n", err: "headmatter"},
		{name: "alias bomb", path: "specs/bomb.yml", contents: aliasBomb(), err: "must be a YAML or JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hm, err := ParseHeadmatter(tc.path, tc.contents)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(hm.ReadableBy, tc.want) {
				t.Fatalf("readable_by = %#v, want %#v", hm.ReadableBy, tc.want)
			}
			for k, v := range tc.fields {
				if !reflect.DeepEqual(hm.Fields[k], v) {
					t.Fatalf("fields[%s] = %#v, want %#v", k, hm.Fields[k], v)
				}
			}
		})
	}
}

// aliasBomb is a "billion laughs" YAML document.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestDeveloperPassword(t *testing.T) {
	h, err := HashDeveloperPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashDeveloperPassword("pw")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		hash, pw string
		want     bool
	}{
		{h, "pw", true}, {h2, "pw", true}, {h, "pW", false}, {h, "", false},
		{"pw", "pw", false}, {"", "", false},
		{"$pbkdf2-sha512$i=0$AAAA$AAAA", "pw", false},
		{"$pbkdf2-sha512$i=99999999999$AAAA$AAAA", "pw", false},
		{"$pbkdf2-sha512$i=1$!!$AAAA", "pw", false},
		{strings.Replace(h, "$i=", "$j=", 1), "pw", false},
	}
	for i, tc := range tests {
		if got := CheckDeveloperPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("%d: CheckDeveloperPassword(%q, %q) = %v", i, tc.hash, tc.pw, got)
		}
	}
}

// FuzzParseHeadmatter: any path and contents give a headmatter or an
// error, never a panic, and the same answer twice; readable_by never
// holds an empty role.
func FuzzParseHeadmatter(f *testing.F) {
	f.Add("specs/a.yml", "x-headmatter:\n  readable_by:\n    - dev\nswagger: '2.0'\n")
	f.Add("specs/a.json", `{"x-headmatter":{"readable_by":"*"}}`)
	f.Add("content/a.md", "---\nreadable_by: [dev]\n---\nbody")
	f.Add("specs/a.yml", "a: &a [*a]\n")
	f.Add("specs/a.yml", "x-headmatter: {readable_by: [~]}\n")
	f.Add("content/a.md", "---\r\n---\r\n")
	f.Fuzz(func(t *testing.T, path, contents string) {
		hm, err := ParseHeadmatter(path, contents)
		hm2, err2 := ParseHeadmatter(path, contents)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(hm.ReadableBy, hm2.ReadableBy) {
			t.Fatalf("two parses differ: %v %v / %v %v", hm.ReadableBy, err, hm2.ReadableBy, err2)
		}
		if err != nil {
			return
		}
		for _, r := range hm.ReadableBy {
			if strings.TrimSpace(r) == "" {
				t.Fatalf("empty role in %#v", hm.ReadableBy)
			}
		}
	})
}
