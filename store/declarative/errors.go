package declarative

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// invalid builds Kong's declarative configuration error from a fields tree.
func invalid(fields schema.Errors) *store.Error {
	return &store.Error{
		Code:    store.CodeDeclarativeConfig,
		Message: "declarative config is invalid: " + luaPretty(fields),
		Fields:  fields,
	}
}

// errTree accumulates errors at the places entities occupy in a file. A
// place is a path alternating collection keys and 0-based indexes:
// ["services", 0, "routes", 1] is the second route of the first service.
// The tree mirrors Kong's: collections are lists (nil where an entity is
// fine), entities are maps of field errors, record-level messages sit under
// "@entity".
type errTree struct {
	root schema.Errors
}

func newErrTree() *errTree { return &errTree{root: schema.Errors{}} }

func (t *errTree) empty() bool { return t.root.Empty() }

func (t *errTree) err() *store.Error { return invalid(t.root) }

// entity returns the error map of the entity at path (an even-length path),
// creating lists and maps on the way; nil when a message already occupies
// the place.
func (t *errTree) entity(path []any) schema.Errors {
	cur := t.root
	for i := 0; i+1 < len(path); i += 2 {
		key, _ := path[i].(string)
		idx, _ := path[i+1].(int)
		var list []any
		switch v := cur[key].(type) {
		case nil:
		case []any:
			list = v
		default:
			return nil
		}
		for len(list) <= idx {
			list = append(list, nil)
		}
		cur[key] = list
		switch el := list[idx].(type) {
		case nil:
			m := schema.Errors{}
			list[idx] = m
			cur = m
		case schema.Errors:
			cur = el
		default:
			return nil
		}
	}
	return cur
}

// set records msg at path: a collection key (odd-length path) or an entity
// place (even-length path) where no other error sits yet.
func (t *errTree) set(path []any, msg string) {
	if len(path)%2 == 1 {
		if m := t.entity(path[:len(path)-1]); m != nil {
			m.Add(path[len(path)-1].(string), msg)
		}
		return
	}
	if len(path) == 0 {
		return
	}
	parent := t.entity(path[:len(path)-2])
	if parent == nil {
		return
	}
	key, _ := path[len(path)-2].(string)
	idx, _ := path[len(path)-1].(int)
	var list []any
	switch v := parent[key].(type) {
	case nil:
	case []any:
		list = v
	default:
		return
	}
	for len(list) <= idx {
		list = append(list, nil)
	}
	if list[idx] == nil {
		list[idx] = msg
	}
	parent[key] = list
}

// field records msg for one field of the entity at path.
func (t *errTree) field(path []any, name, msg string) {
	if m := t.entity(path); m != nil {
		m.Add(name, msg)
	}
}

// entityMessage records a record-level message for the entity at path.
func (t *errTree) entityMessage(path []any, msg string) {
	if m := t.entity(path); m != nil {
		m.AddEntity(msg)
	}
}

// merge adds a field error tree to the entity at path.
func (t *errTree) merge(path []any, fields schema.Errors) {
	m := t.entity(path)
	if m == nil {
		return
	}
	for k, v := range fields {
		if k == schema.EntityKey {
			if list, ok := v.([]any); ok {
				for _, msg := range list {
					if s, ok := msg.(string); ok {
						m.AddEntity(s)
					}
				}
				continue
			}
		}
		if _, exists := m[k]; !exists {
			m[k] = v
		}
	}
}

var luaIdentifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true, "end": true,
	"false": true, "for": true, "function": true, "goto": true, "if": true, "in": true,
	"local": true, "nil": true, "not": true, "or": true, "repeat": true, "return": true,
	"then": true, "true": true, "until": true, "while": true,
}

// luaPretty renders an error tree the way Kong prints it in the message of
// a declarative configuration error (Penlight's pretty.write without
// spaces): {services={{host="required field missing"}}}. Lists with holes
// show their indexes: {[2]={...}}.
func luaPretty(v any) string {
	var b strings.Builder
	writeLua(&b, v)
	return b.String()
}

func writeLua(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("nil")
	case string:
		b.WriteString(luaQuote(t))
	case schema.Errors:
		writeLuaMap(b, t)
	case map[string]any:
		writeLuaMap(b, t)
	case []any:
		n := len(t)
		for n > 0 && t[n-1] == nil {
			n--
		}
		dense := true
		for _, e := range t[:n] {
			if e == nil {
				dense = false
			}
		}
		b.WriteByte('{')
		first := true
		for i, e := range t[:n] {
			if e == nil {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			if !dense {
				fmt.Fprintf(b, "[%d]=", i+1)
			}
			writeLua(b, e)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, t)
	}
}

func writeLuaMap[M ~map[string]any](b *strings.Builder, m M) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if luaIdentifier.MatchString(k) && !luaKeywords[k] {
			b.WriteString(k)
		} else {
			b.WriteString("[" + luaQuote(k) + "]")
		}
		b.WriteByte('=')
		writeLua(b, m[k])
	}
	b.WriteByte('}')
}

// luaQuote quotes s as a Lua string literal.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\%d`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
