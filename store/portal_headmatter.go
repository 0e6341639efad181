package store

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// Headmatter is what a portal file says about itself: for a spec, its
// top-level `x-headmatter` object; for a content page, the YAML front
// matter between its leading `---` lines. The portal shows a file to the
// developers its ReadableBy names.
type Headmatter struct {
	// ReadableBy lists the developer roles that may read the file; nil
	// when the file sets no readable_by (every visitor may read it).
	// Kong's `readable_by: "*"` (any signed-in developer) is ["*"].
	ReadableBy []string
	// Fields holds the headmatter's other keys (title, layout...), as
	// decoded from YAML.
	Fields map[string]any
}

// IsSpecPath reports whether a portal file is an API spec: under specs/,
// or named .yml, .yaml or .json.
func IsSpecPath(p string) bool {
	if strings.HasPrefix(p, "specs/") {
		return true
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".yml", ".yaml", ".json":
		return true
	}
	return false
}

// ErrNotSpec is returned for a spec whose contents are not a YAML or JSON
// object.
var ErrNotSpec = errors.New("spec contents must be a YAML or JSON object")

// ParseHeadmatter reads the headmatter of the portal file at path: a spec
// (IsSpecPath) must be a YAML or JSON object and may hold `x-headmatter`;
// another file may start with a YAML front matter block. An error says
// what is wrong with the contents, in words fit for an Admin API answer.
func ParseHeadmatter(filePath, contents string) (Headmatter, error) {
	var raw map[string]any
	if IsSpecPath(filePath) {
		doc, err := decodeYAMLObject([]byte(contents))
		if err != nil {
			return Headmatter{}, err
		}
		hm, present := doc["x-headmatter"]
		if !present || hm == nil {
			return Headmatter{}, nil
		}
		m, ok := hm.(map[string]any)
		if !ok {
			return Headmatter{}, errors.New("x-headmatter must be an object")
		}
		raw = m
	} else {
		block, ok := frontMatter(contents)
		if !ok {
			return Headmatter{}, nil
		}
		doc, err := decodeYAMLObject([]byte(block))
		if err != nil {
			return Headmatter{}, fmt.Errorf("headmatter: %w", err)
		}
		raw = doc
	}
	return headmatterFrom(raw)
}

// headmatterFrom reads readable_by out of a decoded headmatter object.
func headmatterFrom(raw map[string]any) (Headmatter, error) {
	out := Headmatter{Fields: map[string]any{}}
	for k, v := range raw {
		if k != "readable_by" {
			out.Fields[k] = v
		}
	}
	switch rb := raw["readable_by"].(type) {
	case nil:
	case string:
		if rb != "*" {
			return Headmatter{}, errors.New(`readable_by must be a list of roles or "*"`)
		}
		out.ReadableBy = []string{"*"}
	case []any:
		out.ReadableBy = make([]string, 0, len(rb))
		for _, e := range rb {
			s, ok := e.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return Headmatter{}, errors.New("readable_by must list role names (strings)")
			}
			out.ReadableBy = append(out.ReadableBy, s)
		}
	default:
		return Headmatter{}, errors.New(`readable_by must be a list of roles or "*"`)
	}
	return out, nil
}

// frontMatter returns the YAML block between a leading "---" line and the
// next "---" line.
func frontMatter(contents string) (string, bool) {
	rest, ok := strings.CutPrefix(contents, "---\n")
	if !ok {
		if rest, ok = strings.CutPrefix(contents, "---\r\n"); !ok {
			return "", false
		}
	}
	for off := 0; off <= len(rest); {
		end := strings.IndexByte(rest[off:], '\n')
		line := rest[off:]
		if end >= 0 {
			line = rest[off : off+end]
		}
		if strings.TrimRight(line, "\r \t") == "---" {
			return rest[:off], true
		}
		if end < 0 {
			break
		}
		off += end + 1
	}
	return "", false
}

// decodeYAMLObject decodes one YAML (or JSON) document that must be an
// object with string keys; yaml.v3 refuses documents with excessive
// aliasing, so a "billion laughs" document is an error, not a hang.
func decodeYAMLObject(data []byte) (doc map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil { // the decoder must never take the process down
			doc, err = nil, fmt.Errorf("%w: undecodable document", ErrNotSpec)
		}
	}()
	var v any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotSpec, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ErrNotSpec
	}
	return m, nil
}
