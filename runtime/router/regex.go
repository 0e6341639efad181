package router

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Regular expressions: Kong's dialect is store/routeregex; the router adds
// the literal prefix it indexes matches by.

// literalPrefix returns a string every match of the (start-anchored)
// pattern must begin with; "" when there is none or it cannot tell.
func literalPrefix(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	var subs []*syntax.Regexp
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	} else {
		subs = []*syntax.Regexp{re}
	}
	if len(subs) == 0 || subs[0].Op != syntax.OpBeginText {
		return ""
	}
	var b strings.Builder
	for _, s := range subs[1:] {
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			break
		}
		for _, r := range s.Rune {
			if r == utf8.RuneError {
				return b.String()
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
