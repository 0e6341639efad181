// Package router matches HTTP requests to Kong routes the way Kong 3.x's
// router_flavor = traditional_compatible does (kong/router/compat.lua,
// transform.lua and atc.lua over the ATC router), and computes what Kong
// derives from a match: the upstream path, the stripped prefix, the Host
// to preserve and the regex captures plugins see as uri_captures.
//
// It depends on the standard library only, so any front end (net/http or
// another) can drive it: Compile once per configuration, then call
// Router.Match per request with a reused *Match. A compiled Router is
// immutable and safe for concurrent use; a Match must not be shared
// between goroutines.
//
// # Matching (what a route's fields become)
//
// A route matches when every field it sets matches (fields absent or empty
// are ignored):
//
//   - methods: the request method equals one of them (case-sensitive).
//   - hosts: "*.example.com" matches hosts ending in ".example.com",
//     "example.*" hosts starting with "example.", anything else the exact
//     host (case-sensitive, as Kong's http.host == "..."). The request host
//     is the Host header up to its first ":" when the rest is a port
//     number. A route host with a port ("example.com:8080",
//     "*.example.com:8080") also needs the request port to equal it: the
//     Host header's port, or Request.Port when the Host header has none
//     (Kong's net.dst.port).
//   - paths: "/x" is a plain prefix (so "/persons/*" only matches paths
//     starting with the literal "/persons/*"); "~re" is a regex anchored at
//     the start only. See regex.go for the regex dialect.
//   - headers: for every header name, one of the request's values equals
//     one of the route's values, compared lower-cased; a route value
//     "~*re" is an unanchored regex on the lower-cased request value.
//     Names are case-insensitive and "_" equals "-".
//   - snis: only checked when Request.Scheme is "https"; then the TLS SNI
//     must equal one ("*.x"/"x.*" wildcards as for hosts; a trailing "." of
//     the route's value is ignored).
//
// protocols do not take part in matching (Kong does not match on them
// either): routes whose protocols include none of http, https, grpc, grpcs,
// ws, wss are left out, and an http request matching an https-only route
// matches it; the caller then answers as Kong does, see
// Route.HTTPSRequired.
//
// The request path is normalized first (NormalizePath). A request value
// that the router inspects and that is not valid UTF-8 (path, host,
// method, SNI or a header some route names) makes the request match
// nothing, as the ATC router rejects it.
//
// # Precedence
//
// Each route becomes one matcher, or one per path group when its paths mix
// regexes and prefixes of different lengths (regexes form one group, each
// prefix length another). Matchers are tried in decreasing priority, the
// first that matches wins. Priority compares, in order:
//
//  1. match weight: how many of snis, methods, hosts, headers and paths
//     are set;
//  2. hosts set without any "*" (an empty hosts list counts as plain);
//  3. number of header names (capped at 255);
//  4. a regex path group before a prefix group;
//  5. regex_priority, for regex groups only (higher first);
//  6. the prefix length (bytes, modulo 2^19), for prefix groups;
//  7. the greater matcher id (UUIDs compared numerically) — Kong's ATC
//     tie-break; created_at is not used by traditional_compatible.
//
// Kong packs 1-6 into a 64-bit integer; this package compares the fields
// as a tuple, which orders identically within the fields' ranges (a
// negative regex_priority sorts below 0 here).
//
// # Deliberate differences from Kong
//
//   - A header regex's capture groups are not merged into the captures
//     (Kong's ATC leaks them into uri_captures).
//   - Regexes run on Go's RE2 engine, see regex.go.
//   - path_handling "v1" is ignored, as Kong's traditional_compatible
//     does, unless Options.PathHandlingV1 is set.
package router

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Route is a compiled route.
type Route struct {
	ID, Name  string
	Protocols []string
	Methods   []string
	Hosts     []string
	Paths     []string
	SNIs      []string
	// Headers maps the stored header names to their values.
	Headers map[string][]string
	// StripPath, PreserveHost, PathHandling, HTTPSRedirectStatus and
	// RegexPriority hold the stored values, with Kong's schema defaults
	// (true, false, "v0", 426, 0) when absent.
	StripPath           bool
	PreserveHost        bool
	PathHandling        string
	HTTPSRedirectStatus int
	RegexPriority       int
	// RequestBuffering and ResponseBuffering default to true.
	RequestBuffering, ResponseBuffering bool
	// ServiceID is "" for a route without a service.
	ServiceID string
	CreatedAt int64
	// Raw is the stored route; Service is the stored service (nil without
	// one). Neither may be modified.
	Raw     map[string]any
	Service map[string]any

	servicePath string
	// groupErrs are the errors of path groups left out (the route
	// serves the others), reported again when an Update keeps the route.
	groupErrs []error
	// served is set when the route has a matcher (it is in Routes).
	served bool
}

// HasProtocol reports whether the route lists protocol p.
func (r *Route) HasProtocol(p string) bool {
	for _, q := range r.Protocols {
		if q == p {
			return true
		}
	}
	return false
}

// HTTPSRequired reports whether Kong refuses to proxy a request with the
// given (forwarded) scheme on this route: the route's protocols include
// "https" but not "http" and scheme is not "https". Kong then answers with
// HTTPSRedirectStatus: 426 with body {"message":"Please use HTTPS
// protocol"} and headers Connection: Upgrade, Upgrade: TLS/1.2, HTTP/1.1;
// or 301, 302, 307 or 308 with Location: https://<forwarded host><request
// URI> and an empty body.
func (r *Route) HTTPSRequired(scheme string) bool {
	return r.HasProtocol("https") && !r.HasProtocol("http") && scheme != "https"
}

// Request is what the router looks at.
type Request struct {
	Method string
	// Host is the Host header as received (it may carry ":port"); "" when
	// absent.
	Host string
	// Path is the raw request path, still percent-encoded, without the
	// query (for net/http: r.URL.EscapedPath(), or r.RequestURI up to "?").
	// Anything from a "?" after the first byte is ignored.
	Path string
	// Scheme is "http" or "https" (the connection's, as Kong's $scheme).
	Scheme string
	// SNI is the TLS server name, "" without TLS.
	SNI string
	// Port is the port the request arrived on, used when Host has no port.
	// 0 when unknown.
	Port int
	// Header returns the values of a request header; name is lower-case
	// with "-" (e.g. "x-version"), so http.Header.Values works as is. nil
	// means no headers.
	Header func(name string) []string
}

// Match is the result of a successful Router.Match. Reuse one Match per
// goroutine: its strings are carved from chunks it owns, never rewritten,
// so they stay valid after later calls.
type Match struct {
	Route *Route
	// Path is the normalized request path the route matched.
	Path string
	// MatchedPath is the part of Path the route's path matched: the prefix,
	// or the whole regex match; "" when the route has no paths or the regex
	// matched the empty string.
	MatchedPath string
	// Prefix is Kong's match_t.prefix: MatchedPath when the route strips
	// the path, "" otherwise. Kong sends it as X-Forwarded-Prefix when it
	// is neither "" nor "/".
	Prefix string
	// UpstreamPath is the path to send upstream (before Kong's EscapePath).
	UpstreamPath string
	// UpstreamHost is the Host header to send when the route preserves the
	// host (Request.Host as received); "" otherwise.
	UpstreamHost string
	// Captures holds the regex path captures (empty for prefix routes).
	Captures Captures

	arena   []byte
	scratch []byte
}

// Captures are a regex path match's groups, as Kong exposes them to plugins
// (ngx.ctx.router_matches.uri_captures): group 0 is the whole match, then
// the numbered groups, plus named groups under their names. Groups that did
// not participate are absent.
type Captures struct {
	src   string
	idx   []int
	names []string
}

// Empty reports whether no group other than 0 participated; Kong then sets
// no uri_captures at all.
func (c *Captures) Empty() bool {
	for i := 2; i+1 < len(c.idx); i += 2 {
		if c.idx[i] >= 0 {
			return false
		}
	}
	return true
}

// Len is the number of groups, including group 0 (0 without a regex).
func (c *Captures) Len() int { return len(c.idx) / 2 }

// Group returns group i and whether it participated.
func (c *Captures) Group(i int) (string, bool) {
	if i < 0 || 2*i+1 >= len(c.idx) || c.idx[2*i] < 0 {
		return "", false
	}
	return c.src[c.idx[2*i]:c.idx[2*i+1]], true
}

// Name returns group i's name ("" when unnamed).
func (c *Captures) Name(i int) string {
	if i < 0 || i >= len(c.names) {
		return ""
	}
	return c.names[i]
}

// Named returns the named group and whether it participated.
func (c *Captures) Named(name string) (string, bool) {
	for i, n := range c.names {
		if n == name && n != "" {
			return c.Group(i)
		}
	}
	return "", false
}

// Map returns Kong's uri_captures as a map: "0", "1", ... and the names of
// named groups; nil when Empty.
func (c *Captures) Map() map[string]string {
	if c.Empty() {
		return nil
	}
	out := make(map[string]string, len(c.idx))
	for i := 0; i < c.Len(); i++ {
		v, ok := c.Group(i)
		if !ok {
			continue
		}
		out[itoa(i)] = v
		if n := c.Name(i); n != "" {
			out[n] = v
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// Options change compilation.
type Options struct {
	// PathHandlingV1 makes routes with path_handling "v1" build the
	// upstream path as Kong's "traditional" flavor does. Kong's
	// traditional_compatible ignores path_handling (always "v0"); leave it
	// false to behave like Kong 3.x by default.
	PathHandlingV1 bool
}

// RouteError is a route (or one path group of it) left out of the router.
type RouteError struct {
	RouteID, RouteName string
	Err                error
}

func (e *RouteError) Error() string {
	name := e.RouteID
	if e.RouteName != "" {
		name += " (" + e.RouteName + ")"
	}
	return "route " + name + ": " + e.Err.Error()
}

func (e *RouteError) Unwrap() error { return e.Err }

// CompileError lists the routes Compile left out.
type CompileError struct{ Routes []*RouteError }

func (e *CompileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "router: %d route(s) skipped", len(e.Routes))
	for i, r := range e.Routes {
		if i == 10 {
			fmt.Fprintf(&b, "; and %d more", len(e.Routes)-10)
			break
		}
		b.WriteString("; ")
		b.WriteString(r.Error())
	}
	return b.String()
}

// Unwrap returns the individual route errors.
func (e *CompileError) Unwrap() []error {
	out := make([]error, len(e.Routes))
	for i, r := range e.Routes {
		out[i] = r
	}
	return out
}

// Router is a compiled set of routes.
type Router struct {
	routes []*Route
	ms     []matcher         // by rank: ms[0] is tried first
	byID   map[string]*Route // every route parsed, served or not

	exact     map[string]*bucket
	suffix    map[string]*bucket // "*.example.com" under ".example.com"
	prefix    map[string]*bucket // "example.*" under "example."
	oddSuffix []patBucket        // wildcard suffixes not starting with "."
	oddPrefix []patBucket        // wildcard prefixes not ending with "."
	anyHost   *bucket
	maxSuffix int // longest key of suffix
	maxPrefix int // longest key of prefix

	usesMethod, usesHost, usesPath, usesSNI bool
	headerNames                             []string

	opts Options
}

// Routes returns the compiled routes in input order (skipped ones left out).
func (r *Router) Routes() []*Route { return r.routes }

// Len is the number of matchers (routes after path-group splitting).
func (r *Router) Len() int { return len(r.ms) }

// Compile compiles routes (as the store returns them) with their services
// (by id). Routes that cannot be compiled are left out and reported in a
// *CompileError; the returned Router is never nil and serves the rest.
func Compile(routes []map[string]any, services map[string]map[string]any) (*Router, error) {
	return CompileWithOptions(routes, services, Options{})
}

// CompileWithOptions is Compile with options.
func CompileWithOptions(routes []map[string]any, services map[string]map[string]any, opts Options) (*Router, error) {
	return compile(nil, routes, services, opts)
}

// Update compiles routes with their services as Compile does, reusing
// what r compiled for every route whose stored map, and its service's
// stored map, are the very objects r was compiled from: the store hands
// out a new map for every change and the caller must not modify one in
// place, so an unchanged map means an unchanged route. Only new and
// changed routes are parsed and their matchers built; the kept matchers
// stay in order and the new ones are merged in, so one change to a large
// configuration costs its own compilation plus the index, not a full
// Compile. The result is the Router Compile would give (matchers of equal
// priority and id, which Kong leaves unordered, may be tried in another
// order). r is not changed; a nil r compiles everything.
func (r *Router) Update(routes []map[string]any, services map[string]map[string]any) (*Router, error) {
	if r == nil {
		return Compile(routes, services)
	}
	return compile(r, routes, services, r.opts)
}

// compile builds a Router from routes, reusing prev's compiled routes
// where their stored maps did not change (prev may be nil).
func compile(prev *Router, routes []map[string]any, services map[string]map[string]any, opts Options) (*Router, error) {
	r := &Router{opts: opts, byID: make(map[string]*Route, len(routes))}
	var errs []*RouteError
	var fresh []matcher
	for i, raw := range routes {
		if prev != nil {
			if old := prev.byID[str(raw["id"])]; old != nil && sameMap(old.Raw, raw) && old.sameService(services) {
				if r.byID[old.ID] != nil {
					errs = append(errs, &RouteError{RouteID: old.ID, RouteName: old.Name, Err: errors.New("duplicate id")})
					continue
				}
				r.byID[old.ID] = old
				for _, e := range old.groupErrs {
					errs = append(errs, &RouteError{RouteID: old.ID, RouteName: old.Name, Err: e})
				}
				if old.served {
					r.routes = append(r.routes, old)
				}
				continue
			}
		}
		rt, skip, err := parseRoute(raw, services)
		if skip {
			continue
		}
		if err == nil && rt.ID != "" && r.byID[rt.ID] != nil {
			err = errors.New("duplicate id")
		}
		if err != nil {
			id, name := str(raw["id"]), str(raw["name"])
			if id == "" {
				id = fmt.Sprintf("#%d", i)
			}
			errs = append(errs, &RouteError{RouteID: id, RouteName: name, Err: err})
			continue
		}
		r.byID[rt.ID] = rt // a later route with this id is a duplicate
		built, gerrs := buildMatchers(rt, opts)
		rt.groupErrs = gerrs
		for _, e := range gerrs {
			errs = append(errs, &RouteError{RouteID: rt.ID, RouteName: rt.Name, Err: e})
		}
		if len(built) == 0 {
			continue
		}
		rt.served = true
		r.routes = append(r.routes, rt)
		fresh = append(fresh, built...)
	}
	fresh = sortMatchers(fresh)
	if prev == nil {
		r.ms = fresh
	} else {
		// prev's matchers are in order already: keep those of kept
		// routes (the Route objects r now holds) and merge the new
		// ones in.
		r.ms = make([]matcher, 0, len(prev.ms)+len(fresh))
		j := 0
		for i := range prev.ms {
			m := &prev.ms[i]
			if r.byID[m.route.ID] != m.route {
				continue
			}
			for j < len(fresh) && fresh[j].key.before(&m.key) {
				r.ms = append(r.ms, fresh[j])
				j++
			}
			r.ms = append(r.ms, *m)
		}
		r.ms = append(r.ms, fresh[j:]...)
	}
	r.buildIndex()
	if len(errs) > 0 {
		return r, &CompileError{Routes: errs}
	}
	return r, nil
}

// sameMap reports whether a and b are the same map object.
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// sameService reports whether the route's service is the very object
// services holds for it now (or the route has none).
func (rt *Route) sameService(services map[string]map[string]any) bool {
	if rt.ServiceID == "" {
		return true
	}
	svc, ok := services[rt.ServiceID]
	return ok && sameMap(rt.Service, svc)
}

// matcher is one ATC matcher: a route, or one path group of it.
type matcher struct {
	route *Route
	id    string
	key   priority

	methods  []string
	hosts    []hostPat
	snis     []hostPat
	headers  []headerCond
	pathKind uint8
	prefixes []string
	regexes  []*regexp.Regexp
	literals []string // literal prefix of each regex
	v1       bool
}

const (
	pathNone uint8 = iota
	pathPrefix
	pathRegex
)

const (
	patExact uint8 = iota
	patSuffix
	patPrefix
)

type hostPat struct {
	kind uint8
	val  string
	port int // -1: any port
}

type headerCond struct {
	name    string   // lower-case, "_" turned into "-"
	equals  []string // lower-cased values
	regexes []*regexp.Regexp
}

// priority is the ATC priority of a matcher, field by field.
type priority struct {
	weight    int
	plainHost bool
	headers   int
	regex     bool
	regexPrio int64
	length    int
	idKey     string
}

func (a *priority) before(b *priority) bool {
	switch {
	case a.weight != b.weight:
		return a.weight > b.weight
	case a.plainHost != b.plainHost:
		return a.plainHost
	case a.headers != b.headers:
		return a.headers > b.headers
	case a.regex != b.regex:
		return a.regex
	case a.regexPrio != b.regexPrio:
		return a.regexPrio > b.regexPrio
	case a.length != b.length:
		return a.length > b.length
	}
	return a.idKey > b.idKey
}
