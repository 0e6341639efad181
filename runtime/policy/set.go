package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// DefaultTimeout is the policy_timeout default: how long one evaluation
// may run before the request fails closed.
const DefaultTimeout = 20 * time.Millisecond

// noMetrics spares each evaluation a metrics registry.
var noMetrics = metrics.NoOp()

// ErrTimeout is returned (wrapped) by an evaluation that ran out of time.
var ErrTimeout = errors.New("policy: evaluation exceeded policy_timeout")

// ErrNotFound is returned (wrapped) for a policy a snapshot does not hold.
var ErrNotFound = errors.New("policy: no such policy")

// Options configure a Compiler.
type Options struct {
	// Timeout bounds one evaluation (policy_timeout); 0 is DefaultTimeout.
	Timeout time.Duration
}

// Source is one user policy as the store holds it.
type Source struct {
	Name string
	Rego string
}

// Policy is a compiled policy with its query prepared: the Entry rule of
// its package. It is immutable and safe for concurrent use.
type Policy struct {
	// Name is the policy's name: the entity's name, or the shipped
	// policy's ("acl").
	Name string
	// Shipped is set for a policy of the binary.
	Shipped bool
	// Query is the rule evaluated: data.<package>.allow, or the shipped
	// threat policy's data.gatehouse.threat.decision.
	Query ast.Ref
	// Reads is what the query's rules read of the input.
	Reads Reads
	// HasEntry reports whether the package defines the queried rule; a
	// policy without it denies every request.
	HasEntry bool

	src     string
	pq      rego.PreparedEvalQuery
	timeout time.Duration
	plan    *keyPlan
}

// shippedRules names the rule queried of a shipped policy whose decision
// is not the Entry rule: threat protection's rule set decides a violation
// with its `decision` object.
var shippedRules = map[string]string{"threat": "decision"}

// prepare compiles a module set and prepares the query of pkg's rule
// (Entry for the acl plugin and user policies).
func prepare(name string, shippedPolicy bool, user *ast.Module, pkg ast.Ref, rule string, timeout time.Duration) (*Policy, error) {
	c, err := compile(name, user)
	if err != nil {
		return nil, err
	}
	query := pkg.Copy().Append(ast.StringTerm(rule))
	p := &Policy{Name: name, Shipped: shippedPolicy, Query: query, timeout: timeout}
	p.HasEntry = len(c.GetRulesForVirtualDocument(query)) > 0
	p.Reads = analyse(c, query)
	p.plan = planFor(p.Reads)
	r := rego.New(rego.Compiler(c), rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(query)))),
		rego.StrictBuiltinErrors(true))
	p.pq, err = r.PrepareForEval(context.Background())
	if err != nil {
		return nil, fmt.Errorf("policy %s: preparing %s: %w", name, query, err)
	}
	return p, nil
}

// Eval evaluates the policy's query against input, within the policy
// timeout. It returns the rule's value (a Go value: bool, string, map,
// ...), or nil when the rule is undefined. An error or a timeout (wrapping
// ErrTimeout) must fail the request closed.
func (p *Policy) Eval(ctx context.Context, input ast.Value) (_ any, err error) {
	defer func() {
		// A fault inside OPA fails the decision, never the process.
		if r := recover(); r != nil {
			err = fmt.Errorf("policy %s: evaluation failed: %v", p.Name, r)
		}
	}()
	c := topdown.NewCancel()
	timer := time.AfterFunc(p.timeout, c.Cancel)
	rs, err := p.pq.Eval(ctx, rego.EvalParsedInput(input), rego.EvalExternalCancel(c), rego.EvalMetrics(noMetrics))
	if !timer.Stop() || topdown.IsCancel(err) {
		return nil, fmt.Errorf("policy %s: %w (%s)", p.Name, ErrTimeout, p.timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.Name, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	return rs[0].Expressions[0].Value, nil
}

// Timeout is the evaluation bound.
func (p *Policy) Timeout() time.Duration { return p.timeout }

// Set is the policies of one configuration snapshot: the shipped ones and
// the users' compiled ones, by name. It is immutable.
type Set struct {
	// Version is the snapshot version the set was built for.
	Version uint64
	shipped map[string]*Policy
	byName  map[string]*Policy
	errs    map[string]error
	// admin are the deny queries of the user admin policies, by name;
	// adminErrs the admin policies that did not compile.
	admin     []*Policy
	adminErrs map[string]error
}

// Policy returns the named user policy; an error when the snapshot holds
// none by that name (wrapping ErrNotFound) or it did not compile.
func (s *Set) Policy(name string) (*Policy, error) {
	if s == nil {
		return nil, fmt.Errorf("policy %q: %w (no policy set)", name, ErrNotFound)
	}
	if p := s.byName[name]; p != nil {
		return p, nil
	}
	if err := s.errs[name]; err != nil {
		return nil, fmt.Errorf("policy %q does not compile: %w", name, err)
	}
	return nil, fmt.Errorf("policy %q: %w", name, ErrNotFound)
}

// Shipped returns the named shipped policy ("acl").
func (s *Set) Shipped(name string) (*Policy, error) {
	if s == nil {
		return nil, fmt.Errorf("shipped policy %q: %w (no policy set)", name, ErrNotFound)
	}
	if p := s.shipped[name]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("shipped policy %q: %w", name, ErrNotFound)
}

// Names returns the user policies the set holds (compiled or not), sorted.
func (s *Set) Names() []string {
	var out []string
	for n := range s.byName {
		out = append(out, n)
	}
	for n := range s.errs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Errors returns the user policies that did not compile, by name.
func (s *Set) Errors() map[string]error {
	out := make(map[string]error, len(s.errs))
	for k, v := range s.errs {
		out[k] = v
	}
	return out
}

// Compiler builds Sets, keeping each compiled policy for as long as its
// source does not change: a snapshot rebuilt for an unrelated change
// reuses the prepared queries (and the decision caches that hang off
// them). It is safe for concurrent use.
type Compiler struct {
	timeout time.Duration

	mu      sync.Mutex
	shipped map[string]*Policy
	shipErr error
	byKey   map[string]*Policy // name NUL source
}

// NewCompiler returns a compiler with the given options.
func NewCompiler(o Options) *Compiler {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Compiler{timeout: o.Timeout, byKey: map[string]*Policy{}}
}

// Timeout is the compiler's evaluation bound.
func (c *Compiler) Timeout() time.Duration { return c.timeout }

// Build compiles the given user policies (and, once, the shipped ones)
// into the Set of a snapshot. A policy that does not compile is recorded
// in the set's errors, so that its users fail closed; it does not fail
// the build. An error is returned only when the shipped policies do not
// compile, a build mistake.
func (c *Compiler) Build(version uint64, sources []Source) (*Set, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shipped == nil && c.shipErr == nil {
		c.shipped, c.shipErr = c.compileShipped()
	}
	if c.shipErr != nil {
		return nil, c.shipErr
	}
	set := &Set{Version: version, shipped: c.shipped, byName: map[string]*Policy{}, errs: map[string]error{},
		adminErrs: map[string]error{}}
	next := map[string]*Policy{}
	sorted := append([]Source(nil), sources...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, src := range sorted {
		key := src.Name + "\x00" + src.Rego
		denyKey := AdminRule + "\x00" + key
		if p := c.byKey[key]; p != nil {
			set.byName[src.Name], next[key] = p, p
			if d := c.byKey[denyKey]; d != nil {
				set.admin, next[denyKey] = append(set.admin, d), d
			}
			continue
		}
		m, err := parseUser(src.Name, src.Rego)
		if err == nil {
			var p *Policy
			if p, err = prepare(src.Name, false, m, m.Package.Path, Entry, c.timeout); err == nil {
				if IsAdminPackage(m.Package.Path) {
					d, derr := prepare(src.Name, false, m, m.Package.Path, AdminRule, c.timeout)
					if derr != nil {
						set.errs[src.Name], set.adminErrs[src.Name] = derr, derr
						continue
					}
					set.admin, next[denyKey] = append(set.admin, d), d
				}
				set.byName[src.Name], next[key] = p, p
				continue
			}
			if IsAdminPackage(m.Package.Path) {
				set.adminErrs[src.Name] = err
			}
		}
		set.errs[src.Name] = err
	}
	c.byKey = next
	return set, nil
}

// compileShipped prepares every shipped policy.
func (c *Compiler) compileShipped() (map[string]*Policy, error) {
	out := map[string]*Policy{}
	for _, name := range ShippedPolicies() {
		pkg := ast.MustParseRef("data." + ShippedNamespace + "." + name)
		rule := Entry
		if r, ok := shippedRules[name]; ok {
			rule = r
		}
		p, err := prepare(name, true, nil, pkg, rule, c.timeout)
		if err != nil {
			return nil, fmt.Errorf("policy: shipped %s: %w", name, err)
		}
		out[name] = p
	}
	return out, nil
}

// Binder is implemented by plugin instances that decide with policies: the
// snapshot builder hands them the Set of every snapshot that uses them
// (carried-over instances included), before the snapshot serves.
type Binder interface {
	BindPolicies(set *Set)
}
