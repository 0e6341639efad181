package snapshot

import (
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/runtime/policy"
)

// The policies of a snapshot: the users' `policies` entities compiled
// (with the shipped modules) into a policy.Set, reusing what the previous
// build compiled for sources that did not change, and bound to every
// plugin instance that decides with policies (policy.Binder) once the
// build can no longer fail. Carried-over instances are bound again, so an
// acl instance naming a policy sees the policy's new version.

// Option configures a Builder.
type Option func(*Builder)

// WithPolicyTimeout sets policy_timeout: how long one policy evaluation may
// run before its request fails closed (0: policy.DefaultTimeout).
func WithPolicyTimeout(d time.Duration) Option {
	return func(b *Builder) { b.policyTimeout = d }
}

// buildPolicies compiles the snapshot's policies. A policy that does not
// compile (its source was stored by an older version, say) is logged; the
// plugins naming it fail closed.
func (b *Builder) buildPolicies(version uint64, recs []map[string]any) (*policy.Set, error) {
	if b.policies == nil {
		b.policies = policy.NewCompiler(policy.Options{Timeout: b.policyTimeout})
	}
	srcs := make([]policy.Source, 0, len(recs))
	for _, r := range recs {
		srcs = append(srcs, policy.Source{Name: str(r, "name"), Rego: str(r, "rego")})
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	set, err := b.policies.Build(version, srcs)
	if err != nil {
		return nil, err
	}
	for name, err := range set.Errors() {
		b.log.Error("policy does not compile; the plugins naming it deny every request with a 500", "policy", name, "error", err)
	}
	return set, nil
}

// bindPolicies hands the set to every instance that decides with policies.
func bindPolicies(ix *chain.Index, set *policy.Set) {
	for _, in := range ix.Instances() {
		if pb, ok := in.Plugin.(policy.Binder); ok {
			pb.BindPolicies(set)
		}
	}
}
