package scan

// Glob reports whether path matches a rule path pattern with `*` wildcards
// (Kong-like: `*` matches any run of characters, '/' included, possibly
// empty). Every other byte matches itself; matching is case-sensitive. It
// runs in O(len(pattern)·len(path)) at worst, without allocating.
func Glob(pattern, path string) bool {
	p, s := 0, 0
	star, mark := -1, 0
	for s < len(path) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, s
			p++
		case p < len(pattern) && pattern[p] == path[s]:
			p++
			s++
		case star >= 0:
			// Let the last star absorb one more byte and retry.
			p = star + 1
			mark++
			s = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
