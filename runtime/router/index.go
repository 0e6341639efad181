package router

import (
	"strings"
)

// The index narrows the matchers a request must be checked against.
// Matchers are numbered by rank (0 is tried first). Each host key (exact
// host, wildcard suffix, wildcard prefix, or "no hosts") has a bucket; a
// bucket holds a radix tree over path bytes where a prefix path's matcher
// sits at the node of its prefix and a regex path's matcher at the node of
// the regex's literal prefix, plus the matchers without paths. A request
// visits the buckets of its host and, in each, the tree nodes along its
// path; every list it meets is sorted by rank, so scanning stops at the
// first full match or at the best rank found so far. The winner is the
// matcher of lowest rank that matches, which is what trying all matchers in
// priority order would give.

type bucket struct {
	root   node
	noPath []int32
}

type patBucket struct {
	pat string
	b   *bucket
}

type node struct {
	label    string // edge label from the parent
	indices  string // first byte of each child's label
	children []*node
	prefix   []int32 // prefix-path matchers whose prefix ends here
	regex    []int32 // regex matchers whose literal prefix ends here
}

// nodeSlab hands out the nodes of one index, and the first element of
// their matcher lists, from chunks, so that a router's tens of thousands
// of nodes and lists are a few allocations, not one each.
type nodeSlab struct {
	free    []node
	ids     []int32
	kids    []*node
	buckets []bucket
}

// newBucket returns an empty bucket from a chunk.
func (a *nodeSlab) newBucket() *bucket {
	if len(a.buckets) == 0 {
		a.buckets = make([]bucket, 256)
	}
	b := &a.buckets[0]
	a.buckets = a.buckets[1:]
	return b
}

// appendChild is append(list, c), a first child's list taken from a
// chunk as appendID does.
func (a *nodeSlab) appendChild(list []*node, c *node) []*node {
	if len(list) > 0 {
		return append(list, c)
	}
	if len(a.kids) == 0 {
		a.kids = make([]*node, 1024)
	}
	l := a.kids[:1:1]
	a.kids = a.kids[1:]
	l[0] = c
	return l
}

// appendID is append(list, id), the first id taken from a chunk (a list
// of one has no room to grow into its neighbours: the next append copies).
func (a *nodeSlab) appendID(list []int32, id int32) []int32 {
	if len(list) > 0 {
		return append(list, id)
	}
	if len(a.ids) == 0 {
		a.ids = make([]int32, 2048)
	}
	l := a.ids[:1:1]
	a.ids = a.ids[1:]
	l[0] = id
	return l
}

func (a *nodeSlab) new() *node {
	if len(a.free) == 0 {
		a.free = make([]node, 512)
	}
	n := &a.free[0]
	a.free = a.free[1:]
	return n
}

// insert returns the node for path s below n, creating it.
func (n *node) insert(s string, a *nodeSlab) *node {
	for s != "" {
		i := strings.IndexByte(n.indices, s[0])
		if i < 0 {
			c := a.new()
			c.label = s
			n.indices += s[:1]
			n.children = a.appendChild(n.children, c)
			return c
		}
		c := n.children[i]
		l := commonPrefix(c.label, s)
		if l < len(c.label) {
			// split c at l
			tail := a.new()
			*tail = node{label: c.label[l:], indices: c.indices, children: c.children, prefix: c.prefix, regex: c.regex}
			*c = node{label: c.label[:l], indices: tail.label[:1], children: a.appendChild(nil, tail)}
		}
		n, s = c, s[l:]
	}
	return n
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func (r *Router) bucketFor(p hostPat, a *nodeSlab) *bucket {
	var m map[string]*bucket
	var odd *[]patBucket
	switch p.kind {
	case patExact:
		m = r.exact
	case patSuffix:
		if strings.HasPrefix(p.val, ".") {
			m = r.suffix
		} else {
			odd = &r.oddSuffix
		}
	case patPrefix:
		if strings.HasSuffix(p.val, ".") {
			m = r.prefix
		} else {
			odd = &r.oddPrefix
		}
	}
	if m != nil {
		if p.kind == patSuffix {
			r.maxSuffix = max(r.maxSuffix, len(p.val))
		} else if p.kind == patPrefix {
			r.maxPrefix = max(r.maxPrefix, len(p.val))
		}
		b := m[p.val]
		if b == nil {
			b = a.newBucket()
			m[p.val] = b
		}
		return b
	}
	for _, pb := range *odd {
		if pb.pat == p.val {
			return pb.b
		}
	}
	b := &bucket{}
	*odd = append(*odd, patBucket{pat: p.val, b: b})
	return b
}

func (r *Router) buildIndex() {
	r.exact = map[string]*bucket{}
	r.suffix = map[string]*bucket{}
	r.prefix = map[string]*bucket{}
	r.anyHost = &bucket{}
	names := map[string]bool{}
	var buckets []*bucket
	var slab nodeSlab
	for i := range r.ms {
		m := &r.ms[i]
		id := int32(i)
		if len(m.methods) > 0 {
			r.usesMethod = true
		}
		if len(m.hosts) > 0 {
			r.usesHost = true
		}
		if len(m.snis) > 0 {
			r.usesSNI = true
		}
		if m.pathKind != pathNone {
			r.usesPath = true
		}
		for _, h := range m.headers {
			if !names[h.name] {
				names[h.name] = true
				r.headerNames = append(r.headerNames, h.name)
			}
		}
		buckets = buckets[:0]
		if len(m.hosts) == 0 {
			buckets = append(buckets, r.anyHost)
		}
		for _, h := range m.hosts {
			b := r.bucketFor(h, &slab)
			dup := false
			for _, x := range buckets {
				if x == b {
					dup = true
				}
			}
			if !dup {
				buckets = append(buckets, b)
			}
		}
		for _, b := range buckets {
			switch m.pathKind {
			case pathNone:
				b.noPath = append(b.noPath, id)
			case pathPrefix:
				for _, p := range m.prefixes {
					n := b.root.insert(p, &slab)
					if !containsID(n.prefix, id) {
						n.prefix = slab.appendID(n.prefix, id)
					}
				}
			case pathRegex:
				for _, lit := range m.literals {
					n := b.root.insert(lit, &slab)
					if !containsID(n.regex, id) {
						n.regex = slab.appendID(n.regex, id)
					}
				}
			}
		}
	}
}

func containsID(ids []int32, id int32) bool {
	return len(ids) > 0 && ids[len(ids)-1] == id
}
