package lualib

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
	lua "github.com/yuin/gopher-lua"
)

// cjson is implemented after OpenResty's lua-cjson 2.1.0.x: the same
// defaults, configuration functions, output bytes (escaped '/', "%.14g"
// numbers, integers without a decimal point) and error messages. Object
// keys are written sorted (numbers first, then strings) where lua-cjson
// follows Lua's hash order, so output is deterministic.

const (
	cjsonVersion    = "2.1.0.13"
	emptyArrayKey   = "gatehouse.cjson.empty_array"
	emptyArrayMTKey = "gatehouse.cjson.empty_array_mt"
)

// CJSONConfig is the configuration of one cjson instance (what the
// encode_* / decode_* functions read and set).
type CJSONConfig struct {
	SparseConvert          bool
	SparseRatio            int
	SparseSafe             int
	EncodeMaxDepth         int
	DecodeMaxDepth         int
	EncodeInvalidNumbers   int // 0 error, 1 allow (NaN/Infinity), 2 null
	DecodeInvalidNumbers   bool
	NumberPrecision        int
	EmptyTableAsObject     bool
	DecodeArrayWithArrayMT bool
	EscapeForwardSlash     bool
	KeepBuffer             bool
	SkipUnsupported        bool
}

// DefaultCJSONConfig returns lua-cjson's defaults.
func DefaultCJSONConfig() CJSONConfig {
	return CJSONConfig{
		SparseRatio: 2, SparseSafe: 10, EncodeMaxDepth: 1000, DecodeMaxDepth: 1000,
		DecodeInvalidNumbers: true, NumberPrecision: 14, EmptyTableAsObject: true,
		EscapeForwardSlash: true, KeepBuffer: true,
	}
}

// cjsonError is an error whose message is lua-cjson's, raised without a
// position prefix (lua-cjson raises from C, where Lua adds none).
type cjsonError string

func (e cjsonError) Error() string { return string(e) }

// EmptyArray returns the state's cjson.empty_array sentinel.
func EmptyArray(L *lua.LState) lua.LValue {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if v := reg.RawGetString(emptyArrayKey); v != lua.LNil {
		return v
	}
	ud := L.NewUserData()
	ud.Value = emptyArrayMarker{}
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("userdata: cjson.empty_array"))
		return 1
	}))
	ud.Metatable = mt
	reg.RawSetString(emptyArrayKey, ud)
	return ud
}

type emptyArrayMarker struct{}

// EmptyArrayMetatable returns the state's cjson.empty_array_mt: an empty
// table carrying it encodes as [].
func EmptyArrayMetatable(L *lua.LState) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if v, ok := reg.RawGetString(emptyArrayMTKey).(*lua.LTable); ok {
		return v
	}
	mt := L.NewTable()
	reg.RawSetString(emptyArrayMTKey, mt)
	return mt
}

func cjsonLoader(safe bool) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(newCJSON(L, safe))
		return 1
	}
}

// newCJSON builds one cjson module table with its own configuration.
func newCJSON(L *lua.LState, safe bool) *lua.LTable {
	cfg := DefaultCJSONConfig()
	t := L.NewTable()
	boolOpt := func(p *bool) lfunc {
		return func(c *call) int {
			if c.L.GetTop() >= 1 {
				switch v := c.L.Get(1).(type) {
				case lua.LBool:
					*p = bool(v)
				case lua.LString:
					switch v {
					case "on":
						*p = true
					case "off":
						*p = false
					default:
						c.argError(1, "invalid option '"+string(v)+"'")
					}
				default:
					c.argError(1, "invalid option")
				}
			}
			return c.push(lua.LBool(*p))
		}
	}
	intOpt := func(p *int, lo, hi int) lfunc {
		return func(c *call) int {
			if c.L.GetTop() >= 1 && c.L.Get(1) != lua.LNil {
				n := int(c.integer(1))
				if n < lo || n > hi {
					c.argError(1, fmt.Sprintf("expected integer between %d and %d", lo, hi))
				}
				*p = n
			}
			return c.push(lua.LNumber(*p))
		}
	}
	encode := func(c *call) int {
		if c.L.GetTop() != 1 {
			c.argError(1, "expected 1 argument")
		}
		out, err := CJSONEncode(c.L, c.L.Get(1), &cfg)
		if err != nil {
			if safe {
				return c.push(lua.LNil, lua.LString(err.Error()))
			}
			c.L.Error(lua.LString(err.Error()), 0)
		}
		return c.push(lua.LString(out))
	}
	decode := func(c *call) int {
		if c.L.GetTop() != 1 {
			c.argError(1, "expected 1 argument")
		}
		var s string
		switch v := c.L.Get(1).(type) {
		case lua.LString:
			s = string(v)
		case lua.LNumber:
			s = v.String()
		default:
			msg := fmt.Sprintf("bad argument #1 to 'decode' (string expected, got %s)", typeName(c.L, 1))
			if safe {
				return c.push(lua.LNil, lua.LString(msg))
			}
			c.argError(1, fmt.Sprintf("string expected, got %s", typeName(c.L, 1)))
		}
		v, err := CJSONDecode(c.L, s, &cfg)
		if err != nil {
			if safe {
				return c.push(lua.LNil, lua.LString(err.Error()))
			}
			c.L.Error(lua.LString(err.Error()), 0)
		}
		return c.push(v)
	}
	setFuncs(L, t, map[string]lfunc{
		"encode": encode,
		"decode": decode,
		"new": func(c *call) int {
			return c.push(newCJSON(c.L, safe))
		},
		"encode_empty_table_as_object":        boolOpt(&cfg.EmptyTableAsObject),
		"decode_array_with_array_mt":          boolOpt(&cfg.DecodeArrayWithArrayMT),
		"encode_escape_forward_slash":         boolOpt(&cfg.EscapeForwardSlash),
		"encode_keep_buffer":                  boolOpt(&cfg.KeepBuffer),
		"decode_invalid_numbers":              boolOpt(&cfg.DecodeInvalidNumbers),
		"encode_skip_unsupported_value_types": boolOpt(&cfg.SkipUnsupported),
		"encode_number_precision":             intOpt(&cfg.NumberPrecision, 1, 16),
		"encode_max_depth":                    intOpt(&cfg.EncodeMaxDepth, 1, math.MaxInt32),
		"decode_max_depth":                    intOpt(&cfg.DecodeMaxDepth, 1, math.MaxInt32),
		"encode_invalid_numbers": func(c *call) int {
			if c.L.GetTop() >= 1 {
				switch v := c.L.Get(1).(type) {
				case lua.LBool:
					cfg.EncodeInvalidNumbers = map[bool]int{false: 0, true: 1}[bool(v)]
				case lua.LString:
					switch v {
					case "on":
						cfg.EncodeInvalidNumbers = 1
					case "off":
						cfg.EncodeInvalidNumbers = 0
					case "null":
						cfg.EncodeInvalidNumbers = 2
					default:
						c.argError(1, "invalid option '"+string(v)+"'")
					}
				}
			}
			switch cfg.EncodeInvalidNumbers {
			case 1:
				return c.push(lua.LTrue)
			case 2:
				return c.push(lua.LString("null"))
			}
			return c.push(lua.LFalse)
		},
		"encode_sparse_array": func(c *call) int {
			if c.L.GetTop() >= 1 && c.L.Get(1) != lua.LNil {
				cfg.SparseConvert = lua.LVAsBool(c.L.Get(1))
			}
			if c.L.GetTop() >= 2 && c.L.Get(2) != lua.LNil {
				cfg.SparseRatio = int(c.integer(2))
			}
			if c.L.GetTop() >= 3 && c.L.Get(3) != lua.LNil {
				cfg.SparseSafe = int(c.integer(3))
			}
			return c.push(lua.LBool(cfg.SparseConvert), lua.LNumber(cfg.SparseRatio), lua.LNumber(cfg.SparseSafe))
		},
	})
	t.RawSetString("null", luavalue.Null(L))
	t.RawSetString("empty_array", EmptyArray(L))
	t.RawSetString("array_mt", luavalue.ArrayMetatable(L))
	t.RawSetString("empty_array_mt", EmptyArrayMetatable(L))
	t.RawSetString("_NAME", lua.LString(map[bool]string{false: "cjson", true: "cjson.safe"}[safe]))
	t.RawSetString("_VERSION", lua.LString(cjsonVersion))
	return t
}

// CJSONEncode encodes v as lua-cjson does under cfg (nil: defaults).
func CJSONEncode(L *lua.LState, v lua.LValue, cfg *CJSONConfig) (string, error) {
	if cfg == nil {
		d := DefaultCJSONConfig()
		cfg = &d
	}
	e := encoder{L: L, cfg: cfg, arrayMT: luavalue.ArrayMetatable(L), emptyMT: EmptyArrayMetatable(L)}
	if _, err := e.value(v, 0); err != nil {
		return "", err
	}
	return e.b.String(), nil
}

type encoder struct {
	L       *lua.LState
	cfg     *CJSONConfig
	b       strings.Builder
	arrayMT *lua.LTable
	emptyMT *lua.LTable
}

func unsupported(v lua.LValue, reason string) error {
	return cjsonError(fmt.Sprintf("Cannot serialise %s: %s", v.Type().String(), reason))
}

// value appends v; skipped reports a value left out under
// encode_skip_unsupported_value_types.
func (e *encoder) value(v lua.LValue, depth int) (skipped bool, err error) {
	switch x := v.(type) {
	case lua.LString:
		e.str(string(x))
	case lua.LNumber:
		return false, e.number(x)
	case lua.LBool:
		if x {
			e.b.WriteString("true")
		} else {
			e.b.WriteString("false")
		}
	case *lua.LNilType:
		e.b.WriteString("null")
	case *lua.LTable:
		depth++
		if depth > e.cfg.EncodeMaxDepth {
			return false, cjsonError(fmt.Sprintf("Cannot serialise, excessive nesting (%d)", depth))
		}
		return false, e.table(x, depth)
	case *lua.LUserData:
		if luavalue.IsNull(x) {
			e.b.WriteString("null")
			return false, nil
		}
		if _, ok := x.Value.(emptyArrayMarker); ok {
			e.b.WriteString("[]")
			return false, nil
		}
		return e.unsupportedValue(v)
	default:
		return e.unsupportedValue(v)
	}
	return false, nil
}

func (e *encoder) unsupportedValue(v lua.LValue) (bool, error) {
	if e.cfg.SkipUnsupported {
		return true, nil
	}
	return false, unsupported(v, "type not supported")
}

func (e *encoder) str(s string) {
	e.b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"':
			e.b.WriteString(`\"`)
		case ch == '\\':
			e.b.WriteString(`\\`)
		case ch == '/':
			if e.cfg.EscapeForwardSlash {
				e.b.WriteString(`\/`)
			} else {
				e.b.WriteByte('/')
			}
		case ch == '\b':
			e.b.WriteString(`\b`)
		case ch == '\t':
			e.b.WriteString(`\t`)
		case ch == '\n':
			e.b.WriteString(`\n`)
		case ch == '\f':
			e.b.WriteString(`\f`)
		case ch == '\r':
			e.b.WriteString(`\r`)
		case ch < 0x20 || ch == 0x7f:
			fmt.Fprintf(&e.b, `\u%04x`, ch)
		default:
			e.b.WriteByte(ch)
		}
	}
	e.b.WriteByte('"')
}

// FormatNumber formats f as C's "%.<prec>g" does (Go's 'g' format with
// a precision has the same exponent threshold, two-digit exponents and
// trailing-zero removal).
func FormatNumber(f float64, prec int) string {
	return strconv.FormatFloat(f, 'g', prec, 64)
}

func (e *encoder) number(n lua.LNumber) error {
	f := float64(n)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		switch e.cfg.EncodeInvalidNumbers {
		case 0:
			return unsupported(n, "must not be NaN or Infinity")
		case 1:
			switch {
			case math.IsNaN(f):
				e.b.WriteString("NaN")
			case f < 0:
				e.b.WriteString("-Infinity")
			default:
				e.b.WriteString("Infinity")
			}
		default:
			e.b.WriteString("null")
		}
		return nil
	}
	e.b.WriteString(FormatNumber(f, e.cfg.NumberPrecision))
	return nil
}

// arrayLength is lua_array_length: the array size, or -1 for an object.
func (e *encoder) arrayLength(t *lua.LTable) (int, error) {
	max, items := 0, 0
	isArr := true
	t.ForEach(func(k, _ lua.LValue) {
		if !isArr {
			return
		}
		if n, ok := k.(lua.LNumber); ok {
			f := float64(n)
			if f == math.Floor(f) && f >= 1 {
				if int(f) > max {
					max = int(f)
				}
				items++
				return
			}
		}
		isArr = false
	})
	if !isArr {
		return -1, nil
	}
	if e.cfg.SparseRatio > 0 && max > items*e.cfg.SparseRatio && max > e.cfg.SparseSafe {
		if !e.cfg.SparseConvert {
			return 0, unsupported(t, "excessively sparse array")
		}
		return -1, nil
	}
	return max, nil
}

func (e *encoder) table(t *lua.LTable, depth int) error {
	mt, hasMT := e.L.GetMetatable(t).(*lua.LTable)
	if hasMT && mt == e.arrayMT {
		return e.array(t, t.Len(), depth)
	}
	n, err := e.arrayLength(t)
	if err != nil {
		return err
	}
	if n > 0 || (n == 0 && !e.cfg.EmptyTableAsObject) {
		return e.array(t, n, depth)
	}
	if n == 0 && hasMT && mt == e.emptyMT {
		return e.array(t, 0, depth)
	}
	return e.object(t, depth)
}

func (e *encoder) array(t *lua.LTable, n, depth int) error {
	e.b.WriteByte('[')
	comma := false
	for i := 1; i <= n; i++ {
		mark := e.b.Len()
		if comma {
			e.b.WriteByte(',')
		}
		skipped, err := e.value(t.RawGetInt(i), depth)
		if err != nil {
			return err
		}
		if skipped {
			e.truncate(mark)
			continue
		}
		comma = true
	}
	e.b.WriteByte(']')
	return nil
}

func (e *encoder) truncate(n int) {
	s := e.b.String()[:n]
	e.b.Reset()
	e.b.WriteString(s)
}

func (e *encoder) object(t *lua.LTable, depth int) error {
	type pair struct {
		k, v lua.LValue
	}
	var pairs []pair
	var bad lua.LValue
	t.ForEach(func(k, v lua.LValue) {
		switch k.(type) {
		case lua.LNumber, lua.LString:
			pairs = append(pairs, pair{k, v})
		default:
			if bad == nil {
				bad = k
			}
		}
	})
	if bad != nil {
		return unsupported(bad, "table key must be a number or string")
	}
	sort.Slice(pairs, func(i, j int) bool {
		ni, iNum := pairs[i].k.(lua.LNumber)
		nj, jNum := pairs[j].k.(lua.LNumber)
		switch {
		case iNum && jNum:
			return ni < nj
		case iNum != jNum:
			return iNum
		}
		return pairs[i].k.(lua.LString) < pairs[j].k.(lua.LString)
	})
	e.b.WriteByte('{')
	comma := false
	for _, p := range pairs {
		mark := e.b.Len()
		if comma {
			e.b.WriteByte(',')
		}
		if n, ok := p.k.(lua.LNumber); ok {
			e.b.WriteByte('"')
			if err := e.number(n); err != nil {
				return err
			}
			e.b.WriteString(`":`)
		} else {
			e.str(string(p.k.(lua.LString)))
			e.b.WriteByte(':')
		}
		skipped, err := e.value(p.v, depth)
		if err != nil {
			return err
		}
		if skipped {
			e.truncate(mark)
			continue
		}
		comma = true
	}
	e.b.WriteByte('}')
	return nil
}

// CJSONDecode decodes s as lua-cjson does under cfg (nil: defaults):
// JSON null becomes the null sentinel (also at the top level), arrays
// carry cjson.array_mt when decode_array_with_array_mt is on. Errors have
// lua-cjson's messages ("Expected value but found invalid token at
// character 1").
func CJSONDecode(L *lua.LState, s string, cfg *CJSONConfig) (lua.LValue, error) {
	if cfg == nil {
		d := DefaultCJSONConfig()
		cfg = &d
	}
	v, err := ParseJSON(s, cfg.DecodeMaxDepth, cfg.DecodeInvalidNumbers)
	if err != nil {
		return lua.LNil, err
	}
	if v == nil {
		return luavalue.Null(L), nil
	}
	lv, err := luavalue.FromGo(L, v, luavalue.Options{NullInTables: true, MarkArrays: cfg.DecodeArrayWithArrayMT})
	if err != nil {
		return lua.LNil, cjsonError(err.Error())
	}
	return lv, nil
}

// Token names as lua-cjson reports them.
const (
	tObjBegin = "T_OBJ_BEGIN"
	tObjEnd   = "T_OBJ_END"
	tArrBegin = "T_ARR_BEGIN"
	tArrEnd   = "T_ARR_END"
	tString   = "T_STRING"
	tNumber   = "T_NUMBER"
	tInteger  = "T_INTEGER"
	tBoolean  = "T_BOOLEAN"
	tNull     = "T_NULL"
	tColon    = "T_COLON"
	tComma    = "T_COMMA"
	tEnd      = "T_END"
	tError    = "T_ERROR"
)

// singleTokens maps one-character tokens to their names.
var singleTokens = [256]string{'{': tObjBegin, '}': tObjEnd, '[': tArrBegin, ']': tArrEnd, ':': tColon, ',': tComma}

type jsonToken struct {
	typ   string
	index int
	str   string  // T_STRING value, or the T_ERROR reason
	num   float64 // T_NUMBER / T_INTEGER
	b     bool
}

type jsonParser struct {
	data           string
	pos            int
	depth          int
	maxDepth       int
	invalidNumbers bool
}

// ParseJSON parses s into JSON-shaped Go values (nil, bool, float64,
// string, []any, map[string]any) with lua-cjson's grammar and error
// messages. maxDepth bounds nesting (<= 0: 1000).
func ParseJSON(s string, maxDepth int, invalidNumbers bool) (any, error) {
	if maxDepth <= 0 {
		maxDepth = 1000
	}
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		return nil, cjsonError("JSON parser does not support UTF-16 or UTF-32")
	}
	p := &jsonParser{data: s, maxDepth: maxDepth, invalidNumbers: invalidNumbers}
	tok := p.next()
	v, err := p.value(tok)
	if err != nil {
		return nil, err
	}
	tok = p.next()
	if tok.typ != tEnd {
		return nil, parseError("the end", tok)
	}
	return v, nil
}

func parseError(expected string, tok jsonToken) error {
	found := tok.typ
	if tok.typ == tError {
		found = tok.str
	}
	return cjsonError(fmt.Sprintf("Expected %s but found %s at character %d", expected, found, tok.index+1))
}

func (p *jsonParser) at(i int) byte {
	if i < len(p.data) {
		return p.data[i]
	}
	return 0
}

func (p *jsonParser) errTok(reason string) jsonToken {
	return jsonToken{typ: tError, index: p.pos, str: reason}
}

func (p *jsonParser) next() jsonToken {
	for {
		ch := p.at(p.pos)
		if ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' {
			p.pos++
			continue
		}
		break
	}
	start := p.pos
	ch := p.at(p.pos)
	if ch == 0 {
		return jsonToken{typ: tEnd, index: start}
	}
	if t := singleTokens[ch]; t != "" {
		p.pos++
		return jsonToken{typ: t, index: start}
	}
	switch {
	case ch == '"':
		return p.stringToken()
	case ch == '-' || ch >= '0' && ch <= '9':
		if !p.invalidNumbers && p.invalidNumber() {
			return p.errTok("invalid number")
		}
		return p.numberToken()
	case strings.HasPrefix(p.data[p.pos:], "true"):
		p.pos += 4
		return jsonToken{typ: tBoolean, index: start, b: true}
	case strings.HasPrefix(p.data[p.pos:], "false"):
		p.pos += 5
		return jsonToken{typ: tBoolean, index: start}
	case strings.HasPrefix(p.data[p.pos:], "null"):
		p.pos += 4
		return jsonToken{typ: tNull, index: start}
	case p.invalidNumbers && p.invalidNumber():
		return p.numberToken()
	}
	return p.errTok("invalid token")
}

// invalidNumber is json_is_invalid_number: forms strtod accepts that
// strict JSON does not (leading '+', hex, leading zeros, inf, nan).
func (p *jsonParser) invalidNumber() bool {
	i := p.pos
	if p.at(i) == '+' {
		return true
	}
	if p.at(i) == '-' {
		i++
	}
	if p.at(i) == '0' {
		c2 := p.at(i + 1)
		return c2|0x20 == 'x' || c2 >= '0' && c2 <= '9'
	}
	if p.at(i) <= '9' {
		return false
	}
	rest := strings.ToLower(p.data[i:min(i+3, len(p.data))])
	return rest == "inf" || rest == "nan"
}

// numberToken reads what strtod would accept at pos.
func (p *jsonParser) numberToken() jsonToken {
	start := p.pos
	rest := p.data[p.pos:]
	if n := nulIndex(rest); n >= 0 {
		rest = rest[:n]
	}
	// Longest prefix strtod accepts, restricted to the forms JSON text
	// may hold: [+-] digits [.digits] [e[+-]digits] | hex | inf | nan.
	end := scanNumber(rest)
	if end == 0 {
		return p.errTok("invalid number")
	}
	text := rest[:end]
	f, ok := strtod(text)
	if !ok {
		return p.errTok("invalid number")
	}
	p.pos += end
	typ := tNumber
	if !strings.ContainsAny(text, ".eExXnNiI") && math.Abs(f) < 1<<63 {
		typ = tInteger
	}
	return jsonToken{typ: typ, index: start, num: f}
}

func nulIndex(s string) int { return strings.IndexByte(s, 0) }

func scanNumber(s string) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	low := strings.ToLower(s[i:])
	switch {
	case strings.HasPrefix(low, "infinity"):
		return i + 8
	case strings.HasPrefix(low, "inf"), strings.HasPrefix(low, "nan"):
		return i + 3
	case strings.HasPrefix(low, "0x"):
		j := i + 2
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j == i+2 {
			return i + 1 // strtod reads the "0"
		}
		return j
	}
	digits := func(j int) int {
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		return j
	}
	j := digits(i)
	intDigits := j - i
	frac := 0
	if j < len(s) && s[j] == '.' {
		k := digits(j + 1)
		frac = k - j - 1
		if intDigits > 0 || frac > 0 {
			j = k
		}
	}
	if intDigits == 0 && frac == 0 {
		return 0
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if m := digits(k); m > k {
			j = m
		}
	}
	return j
}

func strtod(text string) (float64, bool) {
	low := strings.ToLower(text)
	sign := 1.0
	body := low
	if strings.HasPrefix(body, "-") {
		sign, body = -1, body[1:]
	} else if strings.HasPrefix(body, "+") {
		body = body[1:]
	}
	switch {
	case strings.HasPrefix(body, "inf"):
		return math.Inf(int(sign)), true
	case body == "nan":
		return math.NaN(), true
	case strings.HasPrefix(body, "0x"):
		u, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		return sign * float64(u), true
	}
	f, err := strconv.ParseFloat(body, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return sign * f, true
		}
		return 0, false
	}
	return sign * f, true
}

func (p *jsonParser) stringToken() jsonToken {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		ch := p.at(p.pos)
		if ch == '"' {
			break
		}
		if ch == 0 {
			return p.errTok("unexpected end of string")
		}
		if ch == '\\' {
			esc := p.at(p.pos + 1)
			switch esc {
			case '"', '\\', '/':
				b.WriteByte(esc)
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case 'u':
				r, n, ok := p.unicodeEscape()
				if !ok {
					return p.errTok("invalid unicode escape code")
				}
				b.WriteString(string(r))
				p.pos += n
				continue
			default:
				return p.errTok("invalid escape code")
			}
			p.pos += 2
			continue
		}
		b.WriteByte(ch)
		p.pos++
	}
	p.pos++
	return jsonToken{typ: tString, index: start, str: b.String()}
}

func (p *jsonParser) hex4(i int) (rune, bool) {
	if i+4 > len(p.data) {
		return 0, false
	}
	u, err := strconv.ParseUint(p.data[i:i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(u), true
}

// unicodeEscape decodes \uXXXX (with a surrogate pair) at pos, returning
// the rune and the bytes consumed.
func (p *jsonParser) unicodeEscape() (rune, int, bool) {
	r, ok := p.hex4(p.pos + 2)
	if !ok {
		return 0, 0, false
	}
	if r >= 0xDC00 && r <= 0xDFFF {
		return 0, 0, false
	}
	if r >= 0xD800 && r <= 0xDBFF {
		if p.at(p.pos+6) != '\\' || p.at(p.pos+7) != 'u' {
			return 0, 0, false
		}
		lo, ok := p.hex4(p.pos + 8)
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			return 0, 0, false
		}
		r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
		return r, 12, utf8.ValidRune(r)
	}
	return r, 6, true
}

func (p *jsonParser) value(tok jsonToken) (any, error) {
	switch tok.typ {
	case tString:
		return tok.str, nil
	case tNumber, tInteger:
		return tok.num, nil
	case tBoolean:
		return tok.b, nil
	case tNull:
		return nil, nil
	case tObjBegin:
		return p.object()
	case tArrBegin:
		return p.array()
	}
	return nil, parseError("value", tok)
}

func (p *jsonParser) descend() error {
	p.depth++
	if p.depth > p.maxDepth {
		return cjsonError(fmt.Sprintf("Found too many nested data structures (%d) at character %d", p.depth, p.pos))
	}
	return nil
}

func (p *jsonParser) object() (any, error) {
	if err := p.descend(); err != nil {
		return nil, err
	}
	out := map[string]any{}
	tok := p.next()
	if tok.typ == tObjEnd {
		p.depth--
		return out, nil
	}
	for {
		if tok.typ != tString {
			return nil, parseError("object key string", tok)
		}
		key := tok.str
		tok = p.next()
		if tok.typ != tColon {
			return nil, parseError("colon", tok)
		}
		v, err := p.value(p.next())
		if err != nil {
			return nil, err
		}
		out[key] = v
		tok = p.next()
		if tok.typ == tObjEnd {
			p.depth--
			return out, nil
		}
		if tok.typ != tComma {
			return nil, parseError("comma or object end", tok)
		}
		tok = p.next()
	}
}

func (p *jsonParser) array() (any, error) {
	if err := p.descend(); err != nil {
		return nil, err
	}
	out := []any{}
	tok := p.next()
	if tok.typ == tArrEnd {
		p.depth--
		return out, nil
	}
	for {
		v, err := p.value(tok)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		tok = p.next()
		if tok.typ == tArrEnd {
			p.depth--
			return out, nil
		}
		if tok.typ != tComma {
			return nil, parseError("comma or array end", tok)
		}
		tok = p.next()
	}
}
