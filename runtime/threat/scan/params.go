package scan

import (
	"bytes"
	"encoding/json"
	"errors"
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

// Params collects the request parameters sql_injection checks and calls fn
// for each name/value, in a stable order, until fn returns false:
//   - query arguments (names sorted, values in order);
//   - form fields of an application/x-www-form-urlencoded body, and the
//     non-file parts of a multipart/form-data body;
//   - the string leaves of a JSON body (application/json or any +json
//     type), named by their dotted path from the top ("user.name"); an
//     array element takes its array's path ({"tags":["x"]} gives "tags").
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
	mt, mp, err := mime.ParseMediaType(contentType)
	if err != nil {
		return
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		form, _ := url.ParseQuery(string(body))
		emitSorted(form, emit)
	case mt == "multipart/form-data":
		multipartParams(body, mp["boundary"], emit)
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
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
			if !errors.Is(err, io.EOF) {
				return
			}
			return
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, level{obj: true, wantKey: true})
			case '[':
				stack = append(stack, level{})
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
