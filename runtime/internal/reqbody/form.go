package reqbody

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/runtime/ngxargs"
)

// arg is one decoded form argument. val is a string, or true for a key
// given without "=".
type arg struct {
	key string
	val any
}

// decodeForm decodes a form-urlencoded body or a query string.
// allowMap enables the bracket map syntax ("a[b]=c"), which Kong only
// honours for POST, PUT and PATCH requests. Arguments past maxArgs are
// ignored, as ngx.req.get_post_args does, unless strict is set: then they
// are an error.
func decodeForm(raw string, allowMap bool, maxArgs int, strict bool) (map[string]any, error) {
	args, err := parseArgs(raw, maxArgs, strict)
	if err != nil {
		return nil, err
	}
	return buildTree(args, allowMap)
}

// parseArgs splits raw into at most maxArgs arguments the way
// ngx.req.get_post_args and get_uri_args do: arguments are separated by
// "&", "+" means a space, percent escapes are decoded (invalid escapes are
// kept literally), a key without "=" has the value true, and arguments with
// an empty key are discarded. With strict, one argument more than maxArgs
// is a *BodyError (TooManyArgsMessage) instead of being ignored.
func parseArgs(raw string, maxArgs int, strict bool) ([]arg, error) {
	var args []arg
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, hasValue := strings.Cut(part, "=")
		key := ngxargs.Unescape(k)
		if key == "" {
			continue
		}
		if len(args) == maxArgs {
			if strict {
				return nil, tooManyArgs(maxArgs)
			}
			break
		}
		if hasValue {
			args = append(args, arg{key: key, val: ngxargs.Unescape(v)})
		} else {
			args = append(args, arg{key: key, val: true})
		}
	}
	return args, nil
}

// segKind is the kind of one step of a form key path.
type segKind int

const (
	segKey    segKind = iota // a map key: "a" in "a.b" or "b" in "a[b]"
	segIndex                 // a 1-based array index: "a[2]"
	segAppend                // a new array element: "a[]"
)

type seg struct {
	kind  segKind
	name  string // segKey
	index int    // segIndex
}

// parseKey turns a form key into a path, following Kong's
// arguments_decoder: the key is split on dots outside brackets (empty parts
// are dropped), and each part is a name optionally followed by bracket
// groups: "[]" appends, "[n]" indexes and, if allowMap, "[k]" is a map key.
// A part that does not have that shape is kept as a literal map key, and so
// is a whole key that starts or ends with a dot. Work and allocation are
// linear in the key length and stop as soon as the path exceeds MaxDepth.
func parseKey(key string, allowMap bool) ([]seg, error) {
	key = unescapeBrackets(key)
	if strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") {
		return []seg{{kind: segKey, name: key}}, nil
	}
	parts, ok := splitDots(key, MaxDepth)
	if !ok {
		return nil, errTooDeep
	}
	var path []seg
	for _, part := range parts {
		var err error
		if path, err = appendPart(path, part, allowMap); err != nil {
			return nil, err
		}
	}
	return path, nil
}

var errTooDeep = fmt.Errorf("key nests deeper than %d levels", MaxDepth)

// unescapeBrackets turns "%5B...%5D" (any case) into "[...]", as Kong does
// for keys whose brackets arrive percent-encoded once more.
func unescapeBrackets(key string) string {
	if !strings.Contains(key, "%") {
		return key
	}
	var b strings.Builder
	for {
		open := indexFold(key, "%5b")
		if open < 0 {
			break
		}
		closing := indexFold(key[open+3:], "%5d")
		if closing < 0 {
			break
		}
		b.WriteString(key[:open])
		b.WriteByte('[')
		b.WriteString(key[open+3 : open+3+closing])
		b.WriteByte(']')
		key = key[open+3+closing+3:]
	}
	if b.Len() == 0 {
		return key
	}
	b.WriteString(key)
	return b.String()
}

// indexFold is strings.Index ignoring ASCII case, for a lower-case needle.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// splitDots splits key on dots that are not inside a closed bracket group,
// dropping empty parts. It reports false, without finishing, when there
// are more than max parts.
func splitDots(key string, max int) ([]string, bool) {
	var parts []string
	lastClose := strings.LastIndexByte(key, ']')
	start := 0
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '[':
			// Only look for a closing bracket when there is one ahead,
			// so that runs of unclosed "[" stay linear.
			if i < lastClose {
				i += strings.IndexByte(key[i+1:], ']') + 1
			}
		case '.':
			if i > start {
				if len(parts) == max {
					return nil, false
				}
				parts = append(parts, key[start:i])
			}
			start = i + 1
		}
	}
	if start < len(key) {
		if len(parts) == max {
			return nil, false
		}
		parts = append(parts, key[start:])
	}
	return parts, true
}

// appendPart parses one dot-separated part such as "headers[1][]" and
// appends its segments to path.
func appendPart(path []seg, part string, allowMap bool) ([]seg, error) {
	literal := func() ([]seg, error) {
		if len(path) >= MaxDepth {
			return nil, errTooDeep
		}
		return append(path, seg{kind: segKey, name: part}), nil
	}
	// The name must be at least one character long, so a part starting
	// with "[" looks for its first bracket group from the second byte on.
	open := -1
	if len(part) > 1 {
		if i := strings.IndexByte(part[1:], '['); i >= 0 {
			open = i + 1
		}
	}
	if open < 0 {
		return literal()
	}
	// First check the shape without allocating: only "[...]" groups may
	// follow the name, and map keys need allowMap. Otherwise the whole
	// part is a literal key, whatever its groups hold.
	groups := 0
	for rest := part[open:]; rest != ""; {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 {
			return literal()
		}
		if g := rest[1:end]; g != "" && !isDigits(g) && !allowMap {
			return literal()
		}
		groups++
		rest = rest[end+1:]
	}
	if len(path)+1+groups > MaxDepth {
		return nil, errTooDeep
	}
	path = append(path, seg{kind: segKey, name: part[:open]})
	for rest := part[open:]; rest != ""; {
		end := strings.IndexByte(rest, ']')
		g := rest[1:end]
		rest = rest[end+1:]
		switch {
		case g == "":
			path = append(path, seg{kind: segAppend})
		case isDigits(g):
			n, err := parseIndex(g)
			if err != nil {
				return nil, err
			}
			path = append(path, seg{kind: segIndex, index: n})
		default:
			path = append(path, seg{kind: segKey, name: g})
		}
	}
	return path, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseIndex parses a decimal array index and checks its range without
// overflowing on long digit strings.
func parseIndex(s string) (int, error) {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
		if n > MaxArrayIndex {
			return 0, fmt.Errorf("array index %s out of range (must be between 1 and %d)", s, MaxArrayIndex)
		}
	}
	if n < 1 {
		return 0, fmt.Errorf("array index %s out of range (must be between 1 and %d)", s, MaxArrayIndex)
	}
	return n, nil
}

// nodeKind is the kind of a node of the tree being built.
type nodeKind int

const (
	leafNode nodeKind = iota
	objNode
	arrNode
)

// node is a tree node under construction. Arrays are sparse while
// building and compacted (in index order) when the tree is finished.
type node struct {
	kind   nodeKind
	leaf   any
	obj    map[string]*node
	arr    map[int]*node
	maxIdx int
}

func newNode(kind nodeKind) *node {
	n := &node{kind: kind}
	switch kind {
	case objNode:
		n.obj = map[string]*node{}
	case arrNode:
		n.arr = map[int]*node{}
	}
	return n
}

// leafToArray turns a leaf into a one-element array holding that leaf, in
// place, so a repeated key collects its values.
func (n *node) leafToArray() {
	first := &node{kind: leafNode, leaf: n.leaf}
	n.kind, n.leaf = arrNode, nil
	n.arr = map[int]*node{1: first}
	n.maxIdx = 1
}

// put stores child at array position i.
func (n *node) put(i int, child *node) {
	n.arr[i] = child
	if i > n.maxIdx {
		n.maxIdx = i
	}
}

// nextIndex returns the position a "[]" element goes to.
func (n *node) nextIndex() (int, error) {
	if n.maxIdx >= MaxArrayIndex {
		return 0, fmt.Errorf("array longer than %d elements", MaxArrayIndex)
	}
	return n.maxIdx + 1, nil
}

// want is the container kind the segment after path[i] needs.
func want(path []seg, i int) nodeKind {
	if path[i+1].kind == segKey {
		return objNode
	}
	return arrNode
}

// buildTree inserts every argument, in order, and returns the finished
// tree.
func buildTree(args []arg, allowMap bool) (map[string]any, error) {
	root := newNode(objNode)
	for _, a := range args {
		path, err := parseKey(a.key, allowMap)
		if err == nil {
			err = insert(root, path, a.val)
		}
		if err != nil {
			return nil, &BodyError{
				Message: fmt.Sprintf("invalid argument %q: %v", a.key, err),
				Err:     err,
			}
		}
	}
	return finish(root).(map[string]any), nil
}

var errConflict = errors.New("conflicts with another argument for the same field")

// insert stores val at path below root.
func insert(root *node, path []seg, val any) error {
	cur := root
	for i, s := range path {
		last := i == len(path)-1
		var child *node
		switch s.kind {
		case segKey:
			if cur.kind != objNode {
				return errConflict
			}
			child = cur.obj[s.name]
			if last {
				return setLeaf(child, val, func(n *node) { cur.obj[s.name] = n })
			}
			if child == nil {
				child = newNode(want(path, i))
				cur.obj[s.name] = child
			}
		case segIndex:
			if cur.kind != arrNode {
				return errConflict
			}
			child = cur.arr[s.index]
			if last {
				if child != nil {
					return fmt.Errorf("array index %d given more than once", s.index)
				}
				cur.put(s.index, &node{kind: leafNode, leaf: val})
				return nil
			}
			if child == nil {
				child = newNode(want(path, i))
				cur.put(s.index, child)
			}
		case segAppend:
			if cur.kind != arrNode {
				return errConflict
			}
			if !last {
				// "a[].b=1&a[].c=2" builds one element {b, c}: keep
				// filling the last element until a field repeats.
				if prev := cur.arr[cur.maxIdx]; prev != nil && prev.kind == want(path, i) && !occupied(prev, path[i+1:]) {
					cur = prev
					continue
				}
			}
			idx, err := cur.nextIndex()
			if err != nil {
				return err
			}
			if last {
				cur.put(idx, &node{kind: leafNode, leaf: val})
				return nil
			}
			child = newNode(want(path, i))
			cur.put(idx, child)
		}
		if k := want(path, i); child.kind != k {
			// "a=1&a[]=2": a scalar becomes the first array element.
			if child.kind == leafNode && k == arrNode {
				child.leafToArray()
			} else {
				return errConflict
			}
		}
		cur = child
	}
	return nil
}

// setLeaf stores val where existing is (nil if nothing is there yet). A
// repeated key collects its values into an array.
func setLeaf(existing *node, val any, store func(*node)) error {
	leaf := &node{kind: leafNode, leaf: val}
	if existing == nil {
		store(leaf)
		return nil
	}
	switch existing.kind {
	case leafNode:
		existing.leafToArray()
	case objNode:
		return errConflict
	}
	idx, err := existing.nextIndex()
	if err != nil {
		return err
	}
	existing.put(idx, leaf)
	return nil
}

// occupied reports whether storing at path below n would hit a value that
// is already there.
func occupied(n *node, path []seg) bool {
	for _, s := range path {
		var child *node
		switch {
		case s.kind == segKey && n.kind == objNode:
			child = n.obj[s.name]
		case s.kind == segIndex && n.kind == arrNode:
			child = n.arr[s.index]
		default:
			return false
		}
		if child == nil {
			return false
		}
		n = child
	}
	return true
}

// finish converts a built node into the public tree representation.
func finish(n *node) any {
	switch n.kind {
	case objNode:
		m := make(map[string]any, len(n.obj))
		for k, c := range n.obj {
			m[k] = finish(c)
		}
		return m
	case arrNode:
		idx := make([]int, 0, len(n.arr))
		for i := range n.arr {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([]any, len(idx))
		for j, i := range idx {
			out[j] = finish(n.arr[i])
		}
		return out
	}
	if s, ok := n.leaf.(string); ok && s == "" {
		return nil
	}
	return n.leaf
}
