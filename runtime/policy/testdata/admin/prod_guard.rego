# No one deletes services tagged prod.
package admin.prod_guard

deny contains msg if {
	input.action == "delete"
	input.entity.type == "services"
	"prod" in input.entity.tags
	msg := sprintf("service %s is tagged prod: it cannot be deleted", [input.entity.name])
}
