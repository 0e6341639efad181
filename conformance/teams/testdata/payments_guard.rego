# Only the payments team's administrators delete the services it owns.
package admin.payments_guard

deny contains msg if {
	input.action == "delete"
	input.entity.type == "services"
	"payments" in input.entity.teams
	not payments_admin
	msg := sprintf("%s: only payments' administrators delete its services", [input.admin.name])
}

payments_admin if {
	some team in input.teams
	team.name == "payments"
	team.admin
}
