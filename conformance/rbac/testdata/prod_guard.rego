# No one deletes services tagged prod.
package admin.prod_guard

deny contains msg if {
	input.action == "delete"
	input.entity.type == "services"
	"prod" in input.entity.tags
	msg := sprintf("%s: service %s is tagged prod and cannot be deleted", [input.admin.name, input.entity.name])
}
