package threatprotection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/open-policy-agent/opa/v1/ast"
)

// Decisions come from the shipped Rego policy `threat` (runtime/policy,
// rego/threat.rego): Go counts and detects which limit a request crossed
// (a violation); the policy decides what a violation means: the action,
// the status and the message. The violations an instance can meet are
// finite (each limit's filters, each rule's filters), so when a snapshot
// binds the instance every one is evaluated against the instance's
// configuration and kept in a table: a request never evaluates Rego, it
// looks its decision up.

// Decision is the policy's answer for one violation.
type Decision struct {
	Rule    string `json:"rule"`
	Filter  string `json:"filter"`
	Action  string `json:"action"`
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// decisions is one binding's table.
type decisions struct {
	byKey map[string]Decision
	err   error
}

// errUnbound: no snapshot bound the instance to the policies yet.
var errUnbound = errors.New(Name + ": no policy set bound")

// limitFilters are the filters of each limit.
var limitFilters = map[string][]string{
	"dos":          {"max_requests", "max_in_progress", "blocked"},
	"dos_by_ip":    {"max_requests", "max_in_progress", "blocked"},
	"auth_lockout": {"blocked"},
}

func limitKey(limit, filter string) string { return limit + "/" + filter }

// configDoc is the configuration as the policy reads it (input.config).
func (p *Plugin) configDoc() map[string]any {
	rules := make([]any, len(p.conf.Rules))
	for i, r := range p.conf.Rules {
		rules[i] = map[string]any{"name": r.Name, "action": r.Action, "message": r.Message}
	}
	return map[string]any{
		"dos":          map[string]any{"message": p.conf.DoS.Message},
		"dos_by_ip":    map[string]any{"message": p.conf.DoSByIP.Message, "action": p.conf.DoSByIP.Action},
		"auth_lockout": map[string]any{"message": p.conf.AuthLockout.Message},
		"rules":        rules,
	}
}

// BindPolicies implements policy.Binder: it decides every violation the
// instance can meet with the set's threat policy.
func (p *Plugin) BindPolicies(set *policy.Set) {
	p.table.Store(p.decideAll(set))
}

func (p *Plugin) decideAll(set *policy.Set) *decisions {
	pol, err := set.Shipped("threat")
	if err != nil {
		return &decisions{err: err}
	}
	config := p.configDoc()
	out := &decisions{byKey: map[string]Decision{}}
	for limit, filters := range limitFilters {
		for _, f := range filters {
			d, err := decide(pol, config, map[string]any{"limit": limit, "filter": f})
			if err != nil {
				return &decisions{err: err}
			}
			out.byKey[limitKey(limit, f)] = d
		}
	}
	for _, r := range p.rules {
		for _, f := range r.filters() {
			d, err := decide(pol, config, map[string]any{"limit": "rule", "rule": r.index, "filter": f})
			if err != nil {
				return &decisions{err: err}
			}
			out.byKey[ruleKey(r.index, f)] = d
		}
	}
	return out
}

// bindAttempts bounds the evaluations of one violation at bind time: an
// evaluation that ran out of policy_timeout (a descheduled goroutine on a
// loaded machine; the rule itself takes microseconds) is tried again
// rather than leaving the instance failing closed until the next
// snapshot.
const bindAttempts = 10

// decide evaluates one violation.
func decide(pol *policy.Policy, config, violation map[string]any) (Decision, error) {
	in, err := ast.InterfaceToValue(map[string]any{"config": config, "violation": violation})
	if err != nil {
		return Decision{}, fmt.Errorf("%s: policy input: %w", Name, err)
	}
	var v any
	for i := 0; i < bindAttempts; i++ {
		if v, err = pol.Eval(context.Background(), in); !errors.Is(err, policy.ErrTimeout) {
			break
		}
	}
	if err != nil {
		return Decision{}, fmt.Errorf("%s: deciding %v: %w", Name, violation, err)
	}
	if v == nil {
		return Decision{}, fmt.Errorf("%s: the threat policy does not decide %v", Name, violation)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Decision{}, fmt.Errorf("%s: decision %v: %w", Name, v, err)
	}
	var d Decision
	if err := json.Unmarshal(b, &d); err != nil || d.Status < 100 || d.Status > 599 || (d.Action != "deny" && d.Action != "alert") {
		return Decision{}, fmt.Errorf("%s: invalid decision %s for %v", Name, b, violation)
	}
	return d, nil
}

// lookup returns the decision of a violation; an error fails the request
// closed.
func (p *Plugin) lookup(key string) (Decision, error) {
	t := p.table.Load()
	if t == nil {
		return Decision{}, errUnbound
	}
	if t.err != nil {
		return Decision{}, t.err
	}
	d, ok := t.byKey[key]
	if !ok {
		return Decision{}, fmt.Errorf("%s: no decision for %s", Name, key)
	}
	return d, nil
}
