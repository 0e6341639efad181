// Package scan holds the request scanners behind threat protection's `rules`
// filters: streaming JSON and XML limit checkers that stop at the first
// violation without buffering the body, a SQL injection detector, the
// collection of request parameters it inspects, and rule path globbing.
//
// The package imports only the standard library so that any plugin (or a
// future Lua/Wasm host) can call it.
package scan

import "fmt"

// Violation says which limit a body or value broke.
type Violation struct {
	// Filter is the filter that was broken: "json", "xml", "sql_injection"
	// or "max_body_size".
	Filter string
	// Limit is the configuration name broken, e.g. "max_container_depth";
	// "syntax" for a malformed document, "dtd" for a refused XML DTD; for
	// sql_injection the parameter name.
	Limit string
	// Message is human text, e.g. "JSON container depth 4 exceeds 3".
	Message string
	// Offset is the byte offset in the body at which the violation was
	// detected (0 when not applicable).
	Offset int64
}

// Error makes a Violation usable as an error value.
func (v *Violation) Error() string {
	return fmt.Sprintf("%s %s: %s", v.Filter, v.Limit, v.Message)
}

// HardMaxDepth caps container/element nesting when the configured depth
// limit is unlimited or larger, so that the scanners' memory (a few bytes per
// open level) stays bounded whatever the input; deeper input is reported as a
// max_container_depth / max_node_depth violation. encoding/json uses the same
// cap.
const HardMaxDepth = 10000

// limited reports whether n exceeds a limit; a limit <= 0 is unlimited.
func limited(limit, n int) bool { return limit > 0 && n > limit }

// depthCap is the effective nesting cap for a configured depth limit.
func depthCap(limit int) int {
	if limit <= 0 || limit > HardMaxDepth {
		return HardMaxDepth
	}
	return limit
}
