# Threat protection's decisions, over the facts Gatehouse computes in Go.
# input.violation names what crossed its limit: {"limit": "dos",
# "dos_by_ip" or "auth_lockout", "filter": "max_requests",
# "max_in_progress", "blocked" or "max_failures"}, or {"limit": "rule",
# "rule": <index in config.rules>, "filter": <the rule's filter>}.
# input.config is the threat-protection instance's configuration. The
# decision names the rule and filter, the action ("deny" or "alert"), the
# status of a denial and its message. The plugin evaluates it for every
# possible violation when a snapshot binds it, so requests only look the
# decision up.
package gatehouse.threat

# The status of each limit's denial.
limit_status := {"dos": 429, "dos_by_ip": 429, "auth_lockout": 403}

decision := {
	"rule": v.limit,
	"filter": v.filter,
	"action": "deny",
	"status": limit_status[v.limit],
	"message": input.config[v.limit].message,
} if {
	v := input.violation
	v.limit in object.keys(limit_status)
}

decision := {
	"rule": r.name,
	"filter": v.filter,
	"action": rule_action(r),
	"status": rule_status(v.filter),
	"message": rule_message(r),
} if {
	v := input.violation
	v.limit == "rule"
	r := input.config.rules[v.rule]
}

# A body over max_body_size is refused with 413, every other filter with
# 403.
rule_status(f) := 413 if f == "max_body_size"

rule_status(f) := 403 if f != "max_body_size"

# A rule's action: alert only when it says so.
rule_action(r) := "alert" if r.action == "alert"

rule_action(r) := "deny" if r.action != "alert"

# A rule's message, or the default one.
rule_message(r) := r.message if r.message != ""

rule_message(r) := "Request blocked by threat protection" if r.message == ""
