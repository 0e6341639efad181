package scan

// SQL injection detection: the value is lexed as SQL three times — as is
// (a numeric context such as WHERE id=<value>), and as if it continued a
// single- or double-quoted string (WHERE name='<value>') — and the token
// sequence right after the point where an attacker's input would escape is
// matched against injection shapes (a tautology or comparison joined by
// OR/AND, a comment terminator, a stacked statement, UNION/ORDER BY/HAVING...).
// A fourth, flat lexing (quotes as punctuation) looks anywhere in the value
// for shapes that are SQL whatever the context: UNION SELECT, a stacked
// query, time-based and file functions. No regular expressions; no
// allocation for values up to 64 tokens.

type tokKind uint8

const (
	tkEnd tokKind = iota
	tkWord
	tkNum
	tkStr
	tkQuote // a quote, in flat mode
	tkOp    // comparison: = < > <> != <= >= LIKE IS IN BETWEEN RLIKE REGEXP
	tkLogic // OR AND XOR || &&
	tkLParen
	tkRParen
	tkSemi
	tkComment
	tkOther
)

type keyword uint8

const (
	kwNone keyword = iota
	kwUnion
	kwSelect
	kwAll
	kwDistinct
	kwFrom
	kwOrder
	kwGroup
	kwBy
	kwHaving
	kwWaitfor
	kwDelay
	kwExec
	kwInto
	kwOutfile
	kwDrop
	kwDelete
	kwInsert
	kwUpdate
	kwSet
	kwTruncate
	kwCreate
	kwShutdown
	kwDeclare
	kwObject // table database schema user view procedure function index login
	kwTrue
	kwNot
	kwSleep
	kwPgSleep
	kwBenchmark
	kwFileFunc // load_file extractvalue updatexml receive_message
	kwAlways   // xp_cmdshell information_schema @@version utl_http utl_inaddr sysobjects
)

var keywords = map[string]keyword{
	"union": kwUnion, "select": kwSelect, "all": kwAll, "distinct": kwDistinct, "from": kwFrom,
	"order": kwOrder, "group": kwGroup, "by": kwBy, "having": kwHaving, "waitfor": kwWaitfor,
	"delay": kwDelay, "exec": kwExec, "execute": kwExec, "into": kwInto, "outfile": kwOutfile,
	"dumpfile": kwOutfile, "drop": kwDrop, "delete": kwDelete, "insert": kwInsert, "update": kwUpdate,
	"set": kwSet, "truncate": kwTruncate, "create": kwCreate, "alter": kwCreate, "shutdown": kwShutdown,
	"declare": kwDeclare, "table": kwObject, "database": kwObject, "schema": kwObject, "user": kwObject,
	"view": kwObject, "procedure": kwObject, "function": kwObject, "index": kwObject, "login": kwObject,
	"true": kwTrue, "false": kwTrue, "null": kwTrue, "not": kwNot, "sleep": kwSleep,
	"pg_sleep": kwPgSleep, "benchmark": kwBenchmark, "load_file": kwFileFunc,
	"extractvalue": kwFileFunc, "updatexml": kwFileFunc, "receive_message": kwFileFunc,
	"xp_cmdshell": kwAlways, "information_schema": kwAlways, "@@version": kwAlways,
	"utl_http": kwAlways, "utl_inaddr": kwAlways, "sysobjects": kwAlways,
}

type token struct {
	kind       tokKind
	kw         keyword
	start, end int32
}

type lexMode uint8

const (
	modeNone   lexMode = iota // the value as is
	modeSingle                // the value continues a '...' string
	modeDouble                // the value continues a "..." string
	modeFlat                  // quotes are punctuation
)

// lexer turns the value into tokens.
type lexer struct {
	s    string
	pos  int
	mode lexMode
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func lookupKeyword(w string) (tokKind, keyword) {
	if len(w) > 20 {
		return tkWord, kwNone
	}
	var b [20]byte
	for i := 0; i < len(w); i++ {
		b[i] = lowerByte(w[i])
	}
	lw := b[:len(w)]
	switch string(lw) {
	case "or", "and", "xor":
		return tkLogic, kwNone
	case "like", "is", "in", "between", "rlike", "regexp":
		return tkOp, kwNone
	}
	return tkWord, keywords[string(lw)]
}

// next returns the next token (tkEnd at the end).
func (lx *lexer) next() token {
	s := lx.s
	for lx.pos < len(s) {
		c := s[lx.pos]
		start := lx.pos
		tok := func(k tokKind, n int) token {
			lx.pos += n
			return token{kind: k, start: int32(start), end: int32(lx.pos)}
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '+':
			lx.pos++
		case c == '\'' || c == '"' || c == '`':
			if lx.mode == modeFlat || c == '`' {
				return tok(tkQuote, 1)
			}
			end := lx.pos + 1
			for end < len(s) {
				if s[end] == c {
					if end+1 < len(s) && s[end+1] == c { // doubled quote
						end += 2
						continue
					}
					break
				}
				end++
			}
			if end < len(s) {
				end++
			}
			return tok(tkStr, end-lx.pos)
		case c == '-' && lx.pos+1 < len(s) && s[lx.pos+1] == '-':
			lx.pos = len(s)
			return token{kind: tkComment, start: int32(start), end: int32(len(s))}
		case c == '#':
			if lx.pos+1 == len(s) || s[lx.pos+1] == ' ' || s[lx.pos+1] == '\n' || s[lx.pos+1] == '\t' {
				lx.pos = len(s)
				return token{kind: tkComment, start: int32(start), end: int32(len(s))}
			}
			return tok(tkOther, 1)
		case c == '/' && lx.pos+1 < len(s) && s[lx.pos+1] == '*':
			if lx.pos+2 < len(s) && s[lx.pos+2] == '!' { // MySQL /*!50000 ... */: content runs
				lx.pos += 3
				for lx.pos < len(s) && s[lx.pos] >= '0' && s[lx.pos] <= '9' {
					lx.pos++
				}
				continue
			}
			end := indexFrom(s, lx.pos+2, "*/")
			if end < 0 {
				lx.pos = len(s)
				return token{kind: tkComment, start: int32(start), end: int32(len(s))}
			}
			lx.pos = end + 2 // an inline comment is whitespace
		case c == '*' && lx.pos+1 < len(s) && s[lx.pos+1] == '/':
			lx.pos += 2
		case c >= '0' && c <= '9' || c == '.' && lx.pos+1 < len(s) && s[lx.pos+1] >= '0' && s[lx.pos+1] <= '9':
			end := lx.pos + 1
			for end < len(s) && (isIdent(s[end]) || s[end] == '.') {
				end++
			}
			return tok(tkNum, end-lx.pos)
		case isIdent(c):
			end := lx.pos + 1
			for end < len(s) && isIdent(s[end]) {
				end++
			}
			t := tok(tkWord, end-lx.pos)
			t.kind, t.kw = lookupKeyword(s[start:end])
			return t
		case c == '=':
			return tok(tkOp, 1)
		case c == '<' || c == '>' || c == '!':
			n := 1
			for lx.pos+n < len(s) && n < 3 && (s[lx.pos+n] == '=' || s[lx.pos+n] == '>') {
				n++
			}
			if c == '!' && n == 1 {
				return tok(tkOther, 1)
			}
			return tok(tkOp, n)
		case c == '|' && lx.pos+1 < len(s) && s[lx.pos+1] == '|', c == '&' && lx.pos+1 < len(s) && s[lx.pos+1] == '&':
			return tok(tkLogic, 2)
		case c == '(':
			return tok(tkLParen, 1)
		case c == ')':
			return tok(tkRParen, 1)
		case c == ';':
			return tok(tkSemi, 1)
		default:
			return tok(tkOther, 1)
		}
	}
	return token{kind: tkEnd, start: int32(len(s)), end: int32(len(s))}
}

func indexFrom(s string, from int, sub string) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// toks is a token sequence with tkEnd past its end.
type toks []token

func (t toks) at(i int) token {
	if i < len(t) {
		return t[i]
	}
	return token{kind: tkEnd}
}

// lexAll lexes up to limit tokens into buf.
func lexAll(s string, mode lexMode, buf []token, limit int) toks {
	lx := lexer{s: s, mode: mode}
	out := buf[:0]
	if mode == modeSingle || mode == modeDouble {
		q := byte('\'')
		if mode == modeDouble {
			q = '"'
		}
		// The value continues an open string: it ends at the first lone
		// quote; without one the whole value stays inside the string.
		end := -1
		for i := 0; i < len(s); i++ {
			if s[i] == q {
				if i+1 < len(s) && s[i+1] == q {
					i++
					continue
				}
				end = i
				break
			}
		}
		if end < 0 {
			return nil
		}
		out = append(out, token{kind: tkStr, start: 0, end: int32(end + 1)})
		lx.pos = end + 1
		lx.mode = modeNone
	}
	for len(out) < limit {
		t := lx.next()
		if t.kind == tkEnd {
			break
		}
		out = append(out, t)
	}
	return out
}

// sqlChars are the bytes without which only UNION SELECT or a leading
// number can start a match; sqlPairs the bytes that count only doubled
// ("--", "||", "&&", "@@") or before a '*' ("/*").
var sqlChars, sqlPairs = func() (one, two [256]bool) {
	for _, c := range []byte("'\"`;#()=<>") {
		one[c] = true
	}
	for _, c := range []byte("-|&@/") {
		two[c] = true
	}
	return one, two
}()

// suspicious reports whether value has a byte (or pair) SQL needs.
func suspicious(value string) bool {
	for i := 0; i < len(value); i++ {
		c := value[i]
		if sqlChars[c] {
			return true
		}
		if sqlPairs[c] && i+1 < len(value) {
			d := value[i+1]
			if d == c || (c == '/' && d == '*') {
				return true
			}
		}
	}
	return false
}

// SQLInjection reports whether value looks like a SQL injection attempt:
// tautologies and comparisons joined by OR/AND after an escaping quote or a
// number (' OR 1=1--, ' or 'a'='a, 1) OR (1=1), a comment terminator after a
// quote (admin'--, admin'#), UNION [ALL] SELECT, stacked queries (; DROP
// TABLE, ; EXEC ...), ORDER BY / GROUP BY / HAVING after a quote, time-based
// functions (SLEEP(n), pg_sleep(, BENCHMARK(n,, WAITFOR DELAY), file and
// error-based functions (load_file, extractvalue, updatexml, INTO OUTFILE)
// and catalog probes (information_schema, @@version, xp_cmdshell). Ordinary
// text — names with apostrophes (O'Brien), "select a plan", e-mail
// addresses, JSON — does not match. The value is inspected as given: the
// caller decodes URL or form encoding once.
func SQLInjection(value string) bool {
	if !suspicious(value) && !containsFold(value, "union") && !startsWithDigit(value) {
		return false
	}
	var buf [64]token
	// Anchored shapes: where a quote or a number lets the input escape.
	if t := lexAll(value, modeNone, buf[:], 16); len(t) > 0 && t[0].kind == tkNum && escapes(value, t, false) {
		return true
	}
	if t := lexAll(value, modeSingle, buf[:], 32); len(t) > 0 && escapes(value, t, true) {
		return true
	}
	if t := lexAll(value, modeDouble, buf[:], 32); len(t) > 0 && escapes(value, t, true) {
		return true
	}
	// Shapes that are SQL anywhere.
	lx := lexer{s: value, mode: modeFlat}
	var win [12]token
	n := 0
	for {
		t := lx.next()
		if n < len(win) {
			win[n] = t
			n++
		} else {
			copy(win[:], win[1:])
			win[len(win)-1] = t
		}
		if n == len(win) && anywhere(toks(win[:])) {
			return true
		}
		if t.kind == tkEnd {
			break
		}
	}
	// The last window's later tokens (or, for a short value, every token)
	// have not been window starts yet.
	first := 1
	if n < len(win) {
		first = 0
	}
	for i := first; i < n; i++ {
		if anywhere(toks(win[i:n])) {
			return true
		}
	}
	return false
}

func startsWithDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			continue
		case c >= '0' && c <= '9':
			return true
		default:
			return false
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	// sub is lower case ASCII; find candidates by its first byte.
	first, upper := sub[0], sub[0]-'a'+'A'
	for i := 0; i+len(sub) <= len(s); i++ {
		if c := s[i]; c != first && c != upper {
			continue
		}
		j := 1
		for j < len(sub) && lowerByte(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// operand reports whether t can be one side of a comparison.
func operand(t token, words bool) bool {
	switch t.kind {
	case tkNum, tkStr:
		return true
	case tkWord:
		return t.kw == kwTrue || (words && t.kw == kwNone)
	}
	return false
}

// escapes matches the shapes that follow the escape point t[0] (the closed
// string in a quoted context, the leading number otherwise).
func escapes(s string, t toks, quoted bool) bool {
	i := 1
	for t.at(i).kind == tkRParen {
		i++
	}
	a := t.at(i)
	switch a.kind {
	case tkComment:
		return quoted
	case tkSemi:
		b := t.at(i + 1)
		return (quoted && (b.kind == tkEnd || b.kind == tkComment)) || statement(t, i+1)
	case tkLogic:
		j := i + 1
		for t.at(j).kind == tkLParen {
			j++
		}
		if t.at(j).kw == kwNot {
			j++
		}
		if quoted && t.at(j).kw == kwSelect { // ' AND (SELECT ...
			return true
		}
		if quoted && t.at(j).kind == tkWord && t.at(j+1).kind == tkLParen {
			// ' AND ASCII(SUBSTRING(...))>64: a call compared to something.
			if k := closeParen(t, j+1); k > 0 && t.at(k+1).kind == tkOp {
				return true
			}
		}
		if operand(t.at(j), quoted) {
			k := j + 2
			if t.at(k).kw == kwNot { // IS NOT NULL
				k++
			}
			if t.at(j+1).kind == tkOp && (operand(t.at(k), true) || t.at(k).kind == tkLParen) {
				return true
			}
			if quoted && (t.at(j).kind == tkNum || t.at(j).kw == kwTrue) {
				k := t.at(j + 1).kind
				return k == tkEnd || k == tkComment
			}
		}
		return false
	case tkOp:
		if !quoted || !operand(t.at(i+1), false) {
			return false
		}
		k := t.at(i + 2).kind
		return k == tkEnd || k == tkComment || k == tkLogic || k == tkRParen
	case tkWord:
		b := t.at(i + 1)
		switch a.kw {
		case kwUnion:
			return b.kw == kwSelect || b.kw == kwAll || b.kw == kwDistinct || b.kind == tkLParen
		case kwOrder, kwGroup:
			return b.kw == kwBy
		case kwHaving:
			return operand(b, true) || b.kind == tkLParen
		case kwWaitfor:
			return b.kw == kwDelay
		case kwInto:
			return b.kw == kwOutfile
		case kwExec:
			return quoted && b.kind == tkWord
		case kwSelect:
			return selectFrom(t, i+1)
		}
	}
	return false
}

// closeParen returns the index of the parenthesis closing the one at t[i]
// (0 when it is not in t).
func closeParen(t toks, i int) int {
	depth := 0
	for k := i; k < len(t); k++ {
		switch t[k].kind {
		case tkLParen:
			depth++
		case tkRParen:
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return 0
}

// selectFrom reports whether a FROM follows within a few tokens.
func selectFrom(t toks, i int) bool {
	for j := i; j < i+8; j++ {
		k := t.at(j)
		if k.kind == tkEnd || k.kind == tkSemi {
			return false
		}
		if k.kw == kwFrom {
			return j > i
		}
	}
	return false
}

// statement reports whether a stacked SQL statement starts at t[i].
func statement(t toks, i int) bool {
	a, b := t.at(i), t.at(i+1)
	switch a.kw {
	case kwDrop, kwTruncate, kwCreate:
		return b.kw == kwObject
	case kwDelete:
		return b.kw == kwFrom
	case kwInsert:
		return b.kw == kwInto
	case kwUpdate:
		return b.kind == tkWord && t.at(i+2).kw == kwSet
	case kwShutdown:
		return b.kind == tkEnd || b.kind == tkComment || b.kind == tkSemi
	case kwExec:
		return b.kind == tkWord || b.kind == tkQuote || b.kind == tkStr
	case kwDeclare:
		return b.kind == tkWord && b.kw == kwNone
	case kwWaitfor:
		return b.kw == kwDelay
	case kwSelect:
		return selectFrom(t, i+1) || b.kw == kwSleep || b.kw == kwPgSleep || b.kw == kwBenchmark || b.kw == kwAlways
	case kwSet:
		return b.kind == tkWord && t.at(i+2).kind == tkOp
	}
	return false
}

// anywhere matches the context-free shapes starting at t[0] (flat lexing).
func anywhere(t toks) bool {
	a, b := t.at(0), t.at(1)
	switch a.kind {
	case tkSemi:
		return statement(t, 1)
	case tkWord, tkLogic, tkOp:
	default:
		return false
	}
	switch a.kw {
	case kwUnion:
		if b.kw == kwAll || b.kw == kwDistinct {
			b = t.at(2)
		}
		if b.kind == tkLParen {
			return t.at(2).kw == kwSelect
		}
		return b.kw == kwSelect
	case kwSleep:
		// SLEEP(5) (and DBMS_LOCK.SLEEP(5)), not "sleep(8 hours)".
		return b.kind == tkLParen && t.at(2).kind == tkNum && t.at(3).kind == tkRParen
	case kwPgSleep, kwFileFunc:
		return b.kind == tkLParen
	case kwBenchmark:
		return b.kind == tkLParen && t.at(2).kind == tkNum && t.at(3).kind == tkOther
	case kwWaitfor:
		return b.kw == kwDelay && (t.at(2).kind == tkQuote || t.at(2).kind == tkNum)
	case kwInto:
		return b.kw == kwOutfile && t.at(2).kind == tkQuote
	case kwAlways:
		return true
	}
	return false
}
