package router

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Match finds the route for req. On success it fills m and returns true;
// otherwise it clears m and returns false. It does not allocate except to
// normalize a path that needs it, to build an upstream path that is not a
// substring of the request path (both from chunks m keeps), and once for
// the captures of a regex route.
func (r *Router) Match(req *Request, m *Match) bool {
	*m = Match{arena: m.arena, scratch: m.scratch}
	if len(r.ms) == 0 || req == nil {
		return false
	}
	p := req.Path
	if i := strings.IndexByte(p, '?'); i > 0 {
		p = p[:i]
	}
	if b, changed := normalizeInto(&m.scratch, p); changed {
		p = m.store(b)
	}
	s := search{r: r, req: req, path: p, port: -1, best: int32(len(r.ms)), https: req.Scheme == "https"}
	if req.Host != "" {
		s.hasHost = true
		s.host, s.port = splitHostPort(req.Host)
	}
	if s.port < 0 && req.Port > 0 {
		s.port = req.Port
	}
	if !r.validUTF8(req, &s) {
		return false
	}

	if s.hasHost {
		host := s.host
		if b := r.exact[host]; b != nil {
			s.bucket(b)
		}
		if len(r.suffix) > 0 {
			// only suffixes as long as some pattern: bounded work per host
			for i := max(0, len(host)-r.maxSuffix); i < len(host); i++ {
				if host[i] == '.' {
					if b := r.suffix[host[i:]]; b != nil {
						s.bucket(b)
					}
				}
			}
		}
		if len(r.prefix) > 0 {
			for i := 0; i < len(host) && i < r.maxPrefix; i++ {
				if host[i] == '.' {
					if b := r.prefix[host[:i+1]]; b != nil {
						s.bucket(b)
					}
				}
			}
		}
		for i := range r.oddSuffix {
			if strings.HasSuffix(host, r.oddSuffix[i].pat) {
				s.bucket(r.oddSuffix[i].b)
			}
		}
		for i := range r.oddPrefix {
			if strings.HasPrefix(host, r.oddPrefix[i].pat) {
				s.bucket(r.oddPrefix[i].b)
			}
		}
	}
	s.bucket(r.anyHost)
	if int(s.best) == len(r.ms) {
		return false
	}

	mt := &r.ms[s.best]
	rt := mt.route
	m.Route = rt
	m.Path = p
	switch mt.pathKind {
	case pathPrefix:
		m.MatchedPath = p[:s.bestLen]
	case pathRegex:
		re := mt.regexes[s.bestRegex]
		idx := re.FindStringSubmatchIndex(p)
		if idx != nil {
			m.MatchedPath = p[idx[0]:idx[1]]
			m.Captures = Captures{src: p, idx: idx, names: re.SubexpNames()}
		}
	}
	prefix := "/"
	if rt.StripPath && m.MatchedPath != "" {
		m.Prefix = m.MatchedPath
		prefix = m.MatchedPath
	}
	var parts [3]string
	n := upstreamParts(rt.StripPath, mt.v1, rt.servicePath, prefix, p, &parts)
	m.UpstreamPath = m.concat(parts[:n])
	if rt.PreserveHost {
		m.UpstreamHost = req.Host
	}
	return true
}

// validUTF8 mirrors the ATC context rejecting non-UTF-8 values of the
// fields some route uses.
func (r *Router) validUTF8(req *Request, s *search) bool {
	if r.usesPath && !utf8.ValidString(s.path) {
		return false
	}
	if r.usesHost && s.hasHost && !utf8.ValidString(s.host) {
		return false
	}
	if r.usesMethod && !utf8.ValidString(req.Method) {
		return false
	}
	if r.usesSNI && !utf8.ValidString(req.SNI) {
		return false
	}
	if len(r.headerNames) > 0 && req.Header != nil {
		for _, name := range r.headerNames {
			for _, v := range req.Header(name) {
				if !utf8.ValidString(v) {
					return false
				}
			}
		}
	}
	return true
}

type search struct {
	r       *Router
	req     *Request
	path    string
	host    string
	hasHost bool
	port    int
	https   bool

	best      int32 // rank of the best matcher found; len(ms) when none
	bestLen   int   // its matched prefix length (prefix paths)
	bestRegex int   // index of its matching regex (regex paths)
}

func (s *search) bucket(b *bucket) {
	if len(b.noPath) > 0 {
		s.scan(b.noPath, pathNone, 0)
	}
	n := &b.root
	rest := s.path
	for {
		if len(n.prefix) > 0 {
			s.scan(n.prefix, pathPrefix, len(s.path)-len(rest))
		}
		if len(n.regex) > 0 {
			s.scan(n.regex, pathRegex, 0)
		}
		if rest == "" {
			return
		}
		i := strings.IndexByte(n.indices, rest[0])
		if i < 0 {
			return
		}
		c := n.children[i]
		if len(rest) < len(c.label) || rest[:len(c.label)] != c.label {
			return
		}
		rest = rest[len(c.label):]
		n = c
	}
}

func (s *search) scan(ids []int32, kind uint8, plen int) {
	for _, id := range ids {
		if id >= s.best {
			return
		}
		m := &s.r.ms[id]
		if !s.common(m) {
			continue
		}
		switch kind {
		case pathRegex:
			ri := -1
			for i, re := range m.regexes {
				if re.MatchString(s.path) {
					ri = i
					break
				}
			}
			if ri < 0 {
				continue
			}
			s.bestRegex = ri
		case pathPrefix:
			s.bestLen = plen
		}
		s.best = id
		return
	}
}

// common checks everything but the path.
func (s *search) common(m *matcher) bool {
	if len(m.methods) > 0 {
		ok := false
		for _, v := range m.methods {
			if v == s.req.Method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(m.snis) > 0 && s.https {
		sni := s.req.SNI
		if sni == "" || !matchPats(m.snis, sni, -1) {
			return false
		}
	}
	if len(m.hosts) > 0 {
		if !s.hasHost || !matchPats(m.hosts, s.host, s.port) {
			return false
		}
	}
	for i := range m.headers {
		if !s.header(&m.headers[i]) {
			return false
		}
	}
	return true
}

func matchPats(ps []hostPat, v string, port int) bool {
	for i := range ps {
		p := &ps[i]
		ok := false
		switch p.kind {
		case patExact:
			ok = v == p.val
		case patSuffix:
			ok = strings.HasSuffix(v, p.val)
		case patPrefix:
			ok = strings.HasPrefix(v, p.val)
		}
		if ok && (p.port < 0 || port == p.port) {
			return true
		}
	}
	return false
}

func (s *search) header(c *headerCond) bool {
	if s.req.Header == nil {
		return false
	}
	for _, v := range s.req.Header(c.name) {
		for _, want := range c.equals {
			if equalLower(v, want) {
				return true
			}
		}
		if len(c.regexes) > 0 {
			lv := lowerForMatch(v)
			for _, re := range c.regexes {
				if re.MatchString(lv) {
					return true
				}
			}
		}
	}
	return false
}

// equalLower reports whether lower(v) == want, lower being Unicode-aware
// as the ATC's lower() (Rust to_lowercase).
func equalLower(v, want string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return strings.ToLower(v) == want
		}
	}
	if len(v) != len(want) {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

func lowerForMatch(v string) string {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(v)
		}
	}
	return v
}

const arenaChunk = 4096

// store copies b into m's arena and returns it as a string. Arena bytes
// are never rewritten, so returned strings stay valid.
func (m *Match) store(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	dst := m.alloc(len(b))
	copy(dst, b)
	return unsafe.String(&dst[0], len(dst))
}

// concat joins parts, without copying when at most one is non-empty.
func (m *Match) concat(parts []string) string {
	total, nonEmpty, only := 0, 0, ""
	for _, p := range parts {
		if p != "" {
			total += len(p)
			nonEmpty++
			only = p
		}
	}
	if nonEmpty <= 1 {
		return only
	}
	dst := m.alloc(total)
	n := 0
	for _, p := range parts {
		n += copy(dst[n:], p)
	}
	return unsafe.String(&dst[0], total)
}

func (m *Match) alloc(n int) []byte {
	if cap(m.arena)-len(m.arena) < n {
		size := arenaChunk
		if n > size {
			size = n
		}
		m.arena = make([]byte, 0, size)
	}
	start := len(m.arena)
	m.arena = m.arena[:start+n]
	return m.arena[start : start+n : start+n]
}
