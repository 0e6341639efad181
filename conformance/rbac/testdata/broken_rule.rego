package admin.broken

deny contains msg if {
	input.action == "delete"
	msg := concat(",", input.entity.tags, "extra")
}
