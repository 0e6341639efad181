package admin.broken

deny contains msg if {
	input.action == "delete"
	msg := sprintf("%s", [input.admin.name]
}
