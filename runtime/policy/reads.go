package policy

import (
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Reads is what a policy's rules read of the input document, found by
// walking the compiled rules the query depends on: the constant paths
// under `input` (input.request.method is ["request", "method"]; a path
// stops at its first non-constant part, so input.groups[_] reads
// ["groups"]).
type Reads struct {
	// Paths are the paths read, sorted, without duplicates.
	Paths [][]string
	// Whole is set when a rule reads the input document itself (x := input,
	// input[k], `with input as`): every fact may matter.
	Whole bool
	// Nondeterministic is set when a rule calls a built-in whose result is
	// not a function of its arguments (time.now_ns, rand.intn): its
	// decisions must not be cached.
	Nondeterministic bool
}

// String renders the paths as input.a.b, comma-separated ("input" when
// Whole).
func (r Reads) String() string {
	if r.Whole {
		return "input"
	}
	parts := make([]string, len(r.Paths))
	for i, p := range r.Paths {
		parts[i] = strings.Join(append([]string{"input"}, p...), ".")
	}
	return strings.Join(parts, ",")
}

// analyse collects the reads of the rules the query's rules depend on,
// transitively (functions included).
func analyse(c *ast.Compiler, query ast.Ref) Reads {
	var r Reads
	seen := map[*ast.Rule]bool{}
	var queue []*ast.Rule
	for _, rule := range c.GetRulesForVirtualDocument(query) {
		queue = append(queue, rule)
	}
	if len(queue) == 0 {
		queue = append(queue, c.GetRulesWithPrefix(query)...)
	}
	paths := map[string][]string{}
	for len(queue) > 0 {
		rule := queue[0]
		queue = queue[1:]
		if seen[rule] {
			continue
		}
		seen[rule] = true
		readsOf(rule, &r, paths)
		for dep := range c.Graph.Dependencies(rule) {
			if dr, ok := dep.(*ast.Rule); ok && !seen[dr] {
				queue = append(queue, dr)
			}
		}
		// Rules of the same name (incremental definitions, else chains)
		// are separate nodes reached through their dependents; follow the
		// else chain explicitly.
		if rule.Else != nil && !seen[rule.Else] {
			queue = append(queue, rule.Else)
		}
	}
	for _, p := range paths {
		r.Paths = append(r.Paths, p)
	}
	sort.Slice(r.Paths, func(i, j int) bool {
		return strings.Join(r.Paths[i], "\x00") < strings.Join(r.Paths[j], "\x00")
	})
	return r
}

// readsOf adds one rule's reads (head and body) to r.
func readsOf(rule *ast.Rule, r *Reads, paths map[string][]string) {
	var visit func(x any) bool
	visit = func(x any) bool {
		switch t := x.(type) {
		case *ast.With:
			if t.Target.IsGround() {
				if ref, ok := t.Target.Value.(ast.Ref); ok && ref.HasPrefix(ast.InputRootRef) {
					r.Whole = true
				}
			}
		case *ast.Expr:
			if t.IsCall() {
				markCall(t.Operator(), r)
			}
		case *ast.Term:
			switch v := t.Value.(type) {
			case ast.Call:
				if len(v) > 0 {
					if op, ok := v[0].Value.(ast.Ref); ok {
						markCall(op, r)
					}
				}
			case ast.Var:
				if v.Equal(ast.InputRootDocument.Value) {
					r.Whole = true // input used as a value
				}
			case ast.Ref:
				if v[0].Value.Compare(ast.InputRootDocument.Value) != 0 {
					break
				}
				var p []string
				for _, el := range v[1:] {
					s, ok := el.Value.(ast.String)
					if !ok {
						break
					}
					p = append(p, string(s))
				}
				if len(p) == 0 {
					r.Whole = true
				} else {
					paths[strings.Join(p, "\x00")] = p
				}
				for _, el := range v[1:] {
					ast.NewGenericVisitor(visit).Walk(el)
				}
				return true // the head var is not a read of the whole input
			}
		}
		return false
	}
	ast.NewGenericVisitor(visit).Walk(rule)
}

// markCall flags a call of a non-deterministic built-in.
func markCall(op ast.Ref, r *Reads) {
	if b, known := ast.BuiltinMap[op.String()]; known && b.Nondeterministic {
		r.Nondeterministic = true
	}
}
