# Reads every header: decisions cannot be keyed.
package custom.anyheader

allow if {
	some name, value in input.request.headers
	startswith(name, "x-allow")
	value == "yes"
}
