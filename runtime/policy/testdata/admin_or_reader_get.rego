# Group admin may do anything; group reader may only read (GET).
package custom.readers

default allow := false

allow if "admin" in input.groups

allow if {
	"reader" in input.groups
	input.request.method == "GET"
}
