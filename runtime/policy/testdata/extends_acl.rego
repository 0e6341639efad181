# The shipped acl rule, and only for GET.
package custom.extends

allow if {
	data.gatehouse.acl.allow
	input.request.method == "GET"
}
