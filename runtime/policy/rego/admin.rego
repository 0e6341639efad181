# The Admin API decision Gatehouse ships (enforce_rbac = on): runtime/admin
# builds the input (see runtime/policy/README.md, "The admin input") and
# queries allow. Deny by default.
#
# Endpoint permissions follow Kong Enterprise's RBAC: an endpoint is "*"
# (every path) or a path whose segments are literal or "*" (one segment:
# "/services/*" matches /services/foo, neither /services nor
# /services/foo/routes). Among the permissions that name the call's action
# and match its path, only the most specific decide: an exact path beats a
# pattern with one wildcard, which beats one with two, ..., which beats
# "*". At that level a negative permission denies; otherwise the call is
# allowed. Permissions of all the caller's roles (and of their privilege
# bundles) are pooled, so one role's negative permission denies what
# another role's equally specific permission allows.
package gatehouse.admin

default allow := false

# super-admin may do everything.
allow if "super-admin" in input.roles

allow if {
	level := min(levels)
	not denied_at(level)
}

# A team administrator manages the members of their teams (by the team's
# name or id).
allow if {
	some team in input.teams
	team.admin
	some key in [team.name, team.id]
	key != ""
	startswith(concat("/", ["", trim(input.request.path, "/"), ""]), concat("/", ["", "teams", key, "members", ""]))
}

# The segments of the request path ("/" has none).
segments := [s | some s in split(input.request.path, "/"); s != ""]

# The specificity level of an endpoint that matches the request path:
# the number of its wildcard segments, 1000 for "*"; undefined when it
# does not match.
level_of(endpoint) := 1000 if endpoint == "*"

level_of(endpoint) := n if {
	endpoint != "*"
	segs := [s | some s in split(endpoint, "/"); s != ""]
	count(segs) == count(segments)
	every i, s in segs {
		matches_segment(s, segments[i])
	}
	n := count([s | some s in segs; s == "*"])
}

matches_segment("*", _)

matches_segment(s, s) if s != "*"

# The permissions that apply to the call: its workspace, its action, a
# matching endpoint; each with its level.
applicable contains [level, p.negative] if {
	some p in input.permissions
	p.workspace in {"*", input.workspace}
	input.action in p.actions
	level := level_of(p.endpoint)
}

levels contains level if some [level, _] in applicable

denied_at(level) if [level, true] in applicable

# Why a call is refused, for the audit log and tests: the most specific
# negative permission, or that nothing matched.
reason := "no permission matches" if count(levels) == 0

reason := "a negative permission denies" if {
	count(levels) > 0
	denied_at(min(levels))
}
