# Only bob deletes the services team-b owns.
package admin.team_b_guard

deny contains msg if {
	input.action == "delete"
	input.entity.type == "services"
	"team-b" in input.entity.teams
	input.admin.name != "bob"
	msg := sprintf("%s: only bob deletes team-b's services", [input.admin.name])
}
