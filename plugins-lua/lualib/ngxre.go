package lualib

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/plugins-lua/lualib/pcre"
	lua "github.com/yuin/gopher-lua"
)

// regexCacheMax bounds the compiled-regexp cache, as
// lua_regex_cache_max_entries does (its default).
const regexCacheMax = 1024

// compiledRegex is a translated, compiled pattern with its group names.
type compiledRegex struct {
	re    *regexp.Regexp
	names []string // PCRE name of group i+1
	flags pcre.Flags
}

var regexCache = struct {
	sync.Mutex
	m map[string]*compiledRegex
}{m: make(map[string]*compiledRegex)}

// compileRegex translates and compiles pattern under the ngx.re options
// string, through a process-wide cache keyed by both. Errors read
// `failed to compile regex "PATTERN": ...` (or name the bad option).
func compileRegex(pattern, opts string) (*compiledRegex, error) {
	key := opts + "\x00" + pattern
	regexCache.Lock()
	c := regexCache.m[key]
	regexCache.Unlock()
	if c != nil {
		return c, nil
	}
	flags, err := pcre.ParseOptions(opts)
	if err != nil {
		return nil, err
	}
	res, err := pcre.Translate(pattern, flags)
	if err != nil {
		return nil, fmt.Errorf("failed to compile regex \"%s\": %v", pattern, err)
	}
	re, err := regexp.Compile(res.Pattern)
	if err != nil {
		return nil, fmt.Errorf("failed to compile regex \"%s\": %v", pattern, err)
	}
	if flags.Longest {
		re.Longest()
	}
	c = &compiledRegex{re: re, names: res.Names, flags: flags}
	regexCache.Lock()
	if len(regexCache.m) >= regexCacheMax {
		regexCache.m = make(map[string]*compiledRegex)
	}
	regexCache.m[key] = c
	regexCache.Unlock()
	return c, nil
}

// find returns the submatch indexes of the first match at or after start
// (byte offset), with indexes relative to the whole subject.
func (c *compiledRegex) find(subject string, start int) []int {
	if start > len(subject) {
		return nil
	}
	loc := c.re.FindStringSubmatchIndex(subject[start:])
	if loc == nil {
		return nil
	}
	for i := range loc {
		if loc[i] >= 0 {
			loc[i] += start
		}
	}
	return loc
}

// captures builds the ngx.re captures table from submatch indexes.
func (c *compiledRegex) captures(L *lua.LState, subject string, loc []int, res *lua.LTable) *lua.LTable {
	t := res
	if t == nil {
		t = L.CreateTable(len(loc)/2, len(c.names))
	}
	for i := 0; i < len(loc)/2; i++ {
		var v lua.LValue = lua.LFalse
		if loc[2*i] >= 0 {
			v = lua.LString(subject[loc[2*i]:loc[2*i+1]])
		}
		t.RawSetInt(i, v)
		if i == 0 {
			continue
		}
		name := c.names[i-1]
		if name == "" {
			continue
		}
		if c.flags.DupNames {
			list, ok := t.RawGetString(name).(*lua.LTable)
			if !ok {
				list = L.NewTable()
				t.RawSetString(name, list)
			}
			if v != lua.LFalse {
				list.Append(v)
			}
			continue
		}
		t.RawSetString(name, v)
	}
	return t
}

// allMatches returns the successive non-overlapping matches from start,
// as gmatch and gsub see them (anchored: only matches continuing exactly
// where the previous one ended).
func (c *compiledRegex) allMatches(subject string, start, limit int) [][]int {
	if start > len(subject) {
		return nil
	}
	var out [][]int
	if c.flags.Anchored {
		pos := start
		for limit < 0 || len(out) < limit {
			loc := c.find(subject, pos)
			if loc == nil || loc[0] != pos {
				break
			}
			out = append(out, loc)
			if loc[1] == loc[0] {
				break
			}
			pos = loc[1]
		}
		return out
	}
	all := c.re.FindAllStringSubmatchIndex(subject[start:], limit)
	for _, loc := range all {
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += start
			}
		}
		out = append(out, loc)
	}
	return out
}

func newNgxRe(L *lua.LState) *lua.LTable {
	re := L.NewTable()
	setFuncs(L, re, map[string]lfunc{
		"match":  reMatch,
		"find":   reFind,
		"gmatch": reGmatch,
		"gsub":   func(c *call) int { return reSub(c, true) },
		"sub":    func(c *call) int { return reSub(c, false) },
		"split":  reSplit,
		"opt": func(c *call) int {
			c.str(1)
			return 0
		},
	})
	return re
}

// ctxPos reads ctx.pos (1-based) as a byte offset.
func ctxPos(c *call, ctx *lua.LTable) int {
	if ctx == nil {
		return 0
	}
	if n, ok := ctx.RawGetString("pos").(lua.LNumber); ok && n > 1 {
		return int(n) - 1
	}
	return 0
}

func reMatch(c *call) int {
	subject, pattern, opts := c.str(1), c.str(2), c.optStr(3, "")
	ctx := c.optTable(4)
	res := c.optTable(5)
	re, err := compileRegex(pattern, opts)
	if err != nil {
		return c.nilErr("%v", err)
	}
	loc := re.find(subject, ctxPos(c, ctx))
	if loc == nil {
		return c.push(lua.LNil)
	}
	if ctx != nil {
		ctx.RawSetString("pos", lua.LNumber(loc[1]+1))
	}
	return c.push(re.captures(c.L, subject, loc, res))
}

func reFind(c *call) int {
	subject, pattern, opts := c.str(1), c.str(2), c.optStr(3, "")
	ctx := c.optTable(4)
	nth := int(c.optInt(5, 0))
	re, err := compileRegex(pattern, opts)
	if err != nil {
		return c.nilErr("%v", err)
	}
	loc := re.find(subject, ctxPos(c, ctx))
	if loc == nil {
		return c.push(lua.LNil)
	}
	if ctx != nil {
		ctx.RawSetString("pos", lua.LNumber(loc[1]+1))
	}
	if nth < 0 || nth > len(re.names) {
		return c.nilErr("nth out of bound")
	}
	if loc[2*nth] < 0 {
		return c.push(lua.LNil)
	}
	return c.push(lua.LNumber(loc[2*nth]+1), lua.LNumber(loc[2*nth+1]))
}

func reGmatch(c *call) int {
	subject, pattern, opts := c.str(1), c.str(2), c.optStr(3, "")
	re, err := compileRegex(pattern, opts)
	if err != nil {
		return c.nilErr("%v", err)
	}
	matches := re.allMatches(subject, 0, -1)
	i := 0
	iter := c.L.NewFunction(wrap("gmatch iterator", func(c *call) int {
		if i >= len(matches) {
			return c.push(lua.LNil)
		}
		loc := matches[i]
		i++
		return c.push(re.captures(c.L, subject, loc, nil))
	}))
	return c.push(iter)
}

// reSub implements ngx.re.sub (first match) and ngx.re.gsub (all).
func reSub(c *call, global bool) int {
	subject, pattern := c.str(1), c.str(2)
	repl := c.L.Get(3)
	var fn *lua.LFunction
	var tmpl string
	switch r := repl.(type) {
	case *lua.LFunction:
		fn = r
	case lua.LString, lua.LNumber:
		tmpl = lua.LVAsString(r)
	default:
		c.typeError(3, "string, number, or function")
	}
	opts := c.optStr(4, "")
	re, err := compileRegex(pattern, opts)
	if err != nil {
		return c.nilErr("%v", err)
	}
	limit := 1
	if global {
		limit = -1
	}
	matches := re.allMatches(subject, 0, limit)
	var b strings.Builder
	last := 0
	for _, loc := range matches {
		b.WriteString(subject[last:loc[0]])
		if fn != nil {
			caps := re.captures(c.L, subject, loc, nil)
			c.L.Push(fn)
			c.L.Push(caps)
			c.L.Call(1, 1)
			out := c.L.Get(-1)
			c.L.Pop(1)
			switch o := out.(type) {
			case lua.LString, lua.LNumber:
				b.WriteString(lua.LVAsString(o))
			default:
				return c.nilErr("attempt to use a non-string value returned by the replace function (%s)", out.Type())
			}
		} else {
			s, err := expandTemplate(tmpl, subject, loc)
			if err != nil {
				return c.push(lua.LNil, lua.LNil, lua.LString(err.Error()))
			}
			b.WriteString(s)
		}
		last = loc[1]
	}
	b.WriteString(subject[last:])
	return c.push(lua.LString(b.String()), lua.LNumber(len(matches)))
}

// expandTemplate substitutes $0..$99, ${N} and $$ in an ngx.re.sub
// replacement template.
func expandTemplate(tmpl, subject string, loc []int) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		ch := tmpl[i]
		if ch != '$' {
			b.WriteByte(ch)
			continue
		}
		if i+1 >= len(tmpl) {
			return "", fmt.Errorf("invalid capturing variable name found in \"%s\"", tmpl)
		}
		next := tmpl[i+1]
		var num string
		switch {
		case next == '$':
			b.WriteByte('$')
			i++
			continue
		case next >= '0' && next <= '9':
			j := i + 1
			for j < len(tmpl) && tmpl[j] >= '0' && tmpl[j] <= '9' {
				j++
			}
			num = tmpl[i+1 : j]
			i = j - 1
		case next == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("the closing bracket in \"%s\" variable is missing", tmpl[i:])
			}
			num = tmpl[i+2 : i+end]
			i += end
		default:
			return "", fmt.Errorf("invalid capturing variable name found in \"%s\"", tmpl)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return "", fmt.Errorf("invalid capturing variable name found in \"%s\"", tmpl)
		}
		if 2*n+1 < len(loc) && loc[2*n] >= 0 {
			b.WriteString(subject[loc[2*n]:loc[2*n+1]])
		}
	}
	return b.String(), nil
}

// reSplit is ngx.re.split (lua-resty-core's ngx.re module).
func reSplit(c *call) int {
	subject, pattern, opts := c.str(1), c.str(2), c.optStr(3, "")
	max := int(c.optInt(5, 0))
	re, err := compileRegex(pattern, opts)
	if err != nil {
		return c.nilErr("%v", err)
	}
	limit := -1
	if max > 0 {
		limit = max - 1
	}
	t := c.L.NewTable()
	last := 0
	for _, loc := range re.allMatches(subject, 0, limit) {
		if loc[1] == loc[0] && loc[0] == last && loc[0] < len(subject) {
			if loc[0] == 0 {
				continue
			}
		}
		t.Append(lua.LString(subject[last:loc[0]]))
		for g := 1; g < len(loc)/2; g++ {
			if loc[2*g] >= 0 {
				t.Append(lua.LString(subject[loc[2*g]:loc[2*g+1]]))
			}
		}
		last = loc[1]
	}
	if last < len(subject) || max > 0 {
		t.Append(lua.LString(subject[last:]))
	}
	return c.push(t)
}
