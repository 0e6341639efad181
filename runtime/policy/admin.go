package policy

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The Admin API's decisions: the shipped policy "admin" (package
// gatehouse.admin, rule allow) decides every call when enforce_rbac is on;
// user policies whose package is AdminPackage or under it
// (`package admin.no_prod_deletes`) add refusals through their AdminRule
// rule, a set of messages. A user admin rule can only refuse: its allow
// rule, if any, is not consulted for Admin API calls.
const (
	// AdminPolicy names the shipped Admin API policy.
	AdminPolicy = "admin"
	// AdminPackage is the package (or package prefix) of user policies
	// that join Admin API decisions.
	AdminPackage = "admin"
	// AdminRule is the rule of a user admin policy queried for refusals:
	// `deny contains msg if {...}`.
	AdminRule = "deny"
)

// IsAdminPackage reports whether a package path (data.admin,
// data.admin.prod_guard) makes a user policy an admin rule.
func IsAdminPackage(pkg ast.Ref) bool {
	if len(pkg) < 2 {
		return false
	}
	s, ok := pkg[1].Value.(ast.String)
	return ok && string(s) == AdminPackage
}

// AdminRules returns the prepared deny queries of the set's user admin
// policies, by policy name order.
func (s *Set) AdminRules() []*Policy {
	if s == nil {
		return nil
	}
	return s.admin
}

// AdminErrors names the user admin policies that did not compile in this
// set (their package parsed as an admin one): Admin API calls fail closed
// while one is broken.
func (s *Set) AdminErrors() map[string]error {
	if s == nil {
		return nil
	}
	return s.adminErrs
}

// Deny evaluates a user admin policy's deny rule and returns its messages
// (sorted), none when the rule is undefined or empty. Messages that are
// not strings are rendered as JSON. An error or a timeout must fail the
// call closed.
func (p *Policy) Deny(ctx context.Context, input ast.Value, timeout time.Duration) ([]string, error) {
	v, err := p.EvalWithin(ctx, input, timeout)
	if err != nil || v == nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("policy %s: %s is not a set of messages (got %T)", p.Name, p.Query, v)
	}
	out := make([]string, 0, len(list))
	for _, m := range list {
		if s, ok := m.(string); ok {
			out = append(out, s)
			continue
		}
		t, err := ast.InterfaceToValue(m)
		if err != nil {
			out = append(out, fmt.Sprint(m))
			continue
		}
		out = append(out, t.String())
	}
	sort.Strings(out)
	return out, nil
}

// EvalWithin is Eval with another bound than the policy timeout: Admin
// API decisions are rare next to proxied requests and may take longer.
func (p *Policy) EvalWithin(ctx context.Context, input ast.Value, timeout time.Duration) (_ any, err error) {
	if timeout <= 0 {
		timeout = p.timeout
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("policy %s: evaluation failed: %v", p.Name, r)
		}
	}()
	c := topdown.NewCancel()
	timer := time.AfterFunc(timeout, c.Cancel)
	rs, err := p.pq.Eval(ctx, rego.EvalParsedInput(input), rego.EvalExternalCancel(c), rego.EvalMetrics(noMetrics))
	if !timer.Stop() || topdown.IsCancel(err) {
		return nil, fmt.Errorf("policy %s: %w (%s)", p.Name, ErrTimeout, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.Name, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	return rs[0].Expressions[0].Value, nil
}
