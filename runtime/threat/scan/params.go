package scan

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"sort"
	"strings"
)

// DefaultMaxParams is Params' bound when maxParams <= 0.
const DefaultMaxParams = 1000

// maxJSONPathDepth bounds the dotted path of a JSON leaf; deeper leaves are
// reported under their path's first maxJSONPathDepth names.
const maxJSONPathDepth = 32

// maxJSONNesting bounds the JSON nesting Params walks: it stops at deeper
// input (the json filter's max_container_depth is the place to refuse it).
const maxJSONNesting = 1000

// Params collects the request parameters sql_injection checks and calls fn
// for each name/value, in a stable order, until fn returns false:
//   - query arguments (names sorted, values in order);
//   - form fields of an application/x-www-form-urlencoded body, and the
//     non-file parts of a multipart/form-data body;
//   - the string leaves of a JSON body (application/json or any +json
//     type), named by their dotted path from the top ("user.name"); an
//     array element takes its array's path ({"tags":["x"]} gives "tags");
//     nesting deeper than 1000 ends the walk.
//
// The caller selects names (an empty list = all). It is bounded: it stops
// after maxParams (<= 0: DefaultMaxParams) parameters; a malformed body
// yields the parameters read before the error.
func Params(query map[string][]string, contentType string, body []byte, maxParams int, fn func(name, value string) bool) {
	if maxParams <= 0 {
		maxParams = DefaultMaxParams
	}
	left := maxParams
	emit := func(name, value string) bool {
		if left <= 0 {
			return false
		}
		left--
		return fn(name, value) && left > 0
	}
	if !emitSorted(query, emit) {
		return
	}
	if len(body) == 0 || contentType == "" {
		return
	}
	switch BodyKind(contentType) {
	case "form":
		form, _ := url.ParseQuery(string(body))
		emitSorted(form, emit)
	case "multipart":
		_, mp, _ := mime.ParseMediaType(contentType)
		multipartParams(body, mp["boundary"], emit)
	case "json":
		jsonParams(body, emit)
	}
}

func emitSorted(m map[string][]string, emit func(name, value string) bool) bool {
	if len(m) == 0 {
		return true
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range m[k] {
			if !emit(k, v) {
				return false
			}
		}
	}
	return true
}

func multipartParams(body []byte, boundary string, emit func(name, value string) bool) {
	if boundary == "" {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		name := p.FormName()
		if p.FileName() != "" || name == "" {
			continue
		}
		// The body is already in memory: a part is at most its size.
		v, err := io.ReadAll(p)
		if err != nil {
			return
		}
		if !emit(name, string(v)) {
			return
		}
	}
}

func jsonParams(body []byte, emit func(name, value string) bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		obj     bool
		wantKey bool
		key     string
	}
	var stack []level
	path := func() string {
		var b strings.Builder
		n := 0
		for _, l := range stack {
			if !l.obj {
				continue
			}
			if n == maxJSONPathDepth {
				break
			}
			if n > 0 {
				b.WriteByte('.')
			}
			b.WriteString(l.key)
			n++
		}
		return b.String()
	}
	// afterValue flips an object level back to expecting a key.
	afterValue := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return // io.EOF or malformed: the leaves so far were emitted
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == maxJSONNesting {
					return
				}
				stack = append(stack, level{obj: t == '{', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
				stack[n-1].key = t
				stack[n-1].wantKey = false
				continue
			}
			if !emit(path(), t) {
				return
			}
			afterValue()
		default:
			afterValue()
		}
	}
}

// MatchParam reports whether a parameter named name (as Params gives it) is
// selected by the sql_injection filter's `parameters`: an empty list selects
// every parameter; a configured name selects the parameter of that exact name
// and, for a JSON object, every leaf under it ("user" selects "user.name").
func MatchParam(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if name == n || (len(name) > len(n) && name[len(n)] == '.' && name[:len(n)] == n) {
			return true
		}
	}
	return false
}

// CheckSQLInjection runs the sql_injection filter over a request: the
// parameters Params collects (bounded by maxParams) that MatchParam selects
// are checked with SQLInjection, and the first one that matches is returned
// as Violation{Filter:"sql_injection", Limit: <parameter name>}; nil when
// none does.
func CheckSQLInjection(query map[string][]string, contentType string, body []byte, names []string, maxParams int) *Violation {
	var v *Violation
	Params(query, contentType, body, maxParams, func(name, value string) bool {
		if !MatchParam(names, name) || !SQLInjection(value) {
			return true
		}
		v = &Violation{Filter: "sql_injection", Limit: name, Message: "SQL injection in parameter " + quoteName(name)}
		return false
	})
	return v
}

// quoteName quotes a parameter name for a message, shortened to 64 bytes.
func quoteName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	return "\"" + strings.ReplaceAll(name, "\"", "'") + "\""
}
