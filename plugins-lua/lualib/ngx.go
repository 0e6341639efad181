package lualib

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
	lua "github.com/yuin/gopher-lua"
)

// Versions ngx.config reports: the OpenResty release Kong 3.x ships on.
const (
	NginxVersion    = 1025003 // nginx 1.25.3
	NgxLuaVersion   = 10026   // lua-nginx-module 0.10.26
	maxSleepSeconds = 3600
)

// Log levels as lua-nginx-module numbers them.
var logLevels = map[string]int{
	"STDERR": 0, "EMERG": 1, "ALERT": 2, "CRIT": 3, "ERR": 4,
	"WARN": 5, "NOTICE": 6, "INFO": 7, "DEBUG": 8,
}

// Status and method constants of lua-nginx-module.
var httpConstants = map[string]int{
	"HTTP_CONTINUE": 100, "HTTP_SWITCHING_PROTOCOLS": 101,
	"HTTP_OK": 200, "HTTP_CREATED": 201, "HTTP_ACCEPTED": 202, "HTTP_NO_CONTENT": 204, "HTTP_PARTIAL_CONTENT": 206,
	"HTTP_SPECIAL_RESPONSE": 300, "HTTP_MOVED_PERMANENTLY": 301, "HTTP_MOVED_TEMPORARILY": 302, "HTTP_SEE_OTHER": 303,
	"HTTP_NOT_MODIFIED": 304, "HTTP_TEMPORARY_REDIRECT": 307, "HTTP_PERMANENT_REDIRECT": 308,
	"HTTP_BAD_REQUEST": 400, "HTTP_UNAUTHORIZED": 401, "HTTP_PAYMENT_REQUIRED": 402, "HTTP_FORBIDDEN": 403,
	"HTTP_NOT_FOUND": 404, "HTTP_NOT_ALLOWED": 405, "HTTP_NOT_ACCEPTABLE": 406, "HTTP_REQUEST_TIMEOUT": 408,
	"HTTP_CONFLICT": 409, "HTTP_GONE": 410, "HTTP_UPGRADE_REQUIRED": 426, "HTTP_TOO_MANY_REQUESTS": 429,
	"HTTP_CLOSE": 444, "HTTP_ILLEGAL": 451,
	"HTTP_INTERNAL_SERVER_ERROR": 500, "HTTP_NOT_IMPLEMENTED": 501, "HTTP_METHOD_NOT_IMPLEMENTED": 501,
	"HTTP_BAD_GATEWAY": 502, "HTTP_SERVICE_UNAVAILABLE": 503, "HTTP_GATEWAY_TIMEOUT": 504,
	"HTTP_VERSION_NOT_SUPPORTED": 505, "HTTP_INSUFFICIENT_STORAGE": 507,
	// Methods are nginx's NGX_HTTP_* bit flags.
	"HTTP_GET": 2, "HTTP_HEAD": 4, "HTTP_POST": 8, "HTTP_PUT": 16, "HTTP_DELETE": 32, "HTTP_MKCOL": 64,
	"HTTP_COPY": 128, "HTTP_MOVE": 256, "HTTP_OPTIONS": 512, "HTTP_PROPFIND": 1024, "HTTP_PROPPATCH": 2048,
	"HTTP_LOCK": 4096, "HTTP_UNLOCK": 8192, "HTTP_PATCH": 16384, "HTTP_TRACE": 32768,
	// Handler return codes.
	"OK": 0, "ERROR": -1, "AGAIN": -2, "DONE": -4, "DECLINED": -5,
}

// OpenNgx fills ngx with the request-independent part of OpenResty's ngx
// API: ngx.null, the time functions, base64, digests, URI and argument
// coding, quote_sql_str, sleep, ngx.re, ngx.shared, the log level, status
// and method constants, ngx.config and ngx.worker. Existing fields of ngx
// other than these are left alone, so the PDK can add the request-bound
// ones before or after.
func OpenNgx(L *lua.LState, ngx *lua.LTable, opts Options) {
	o := &opts
	ngx.RawSetString("null", luavalue.Null(L))
	for k, v := range logLevels {
		ngx.RawSetString(k, lua.LNumber(v))
	}
	for k, v := range httpConstants {
		ngx.RawSetString(k, lua.LNumber(v))
	}
	setFuncs(L, ngx, map[string]lfunc{
		"time":            func(c *call) int { return c.push(lua.LNumber(o.now().Unix())) },
		"now":             func(c *call) int { return c.push(lua.LNumber(float64(o.now().UnixMilli()) / 1000)) },
		"today":           func(c *call) int { return c.push(lua.LString(o.now().Local().Format("2006-01-02"))) },
		"localtime":       func(c *call) int { return c.push(lua.LString(o.now().Local().Format(time.DateTime))) },
		"utctime":         func(c *call) int { return c.push(lua.LString(o.now().UTC().Format(time.DateTime))) },
		"update_time":     func(c *call) int { return 0 },
		"http_time":       ngxHTTPTime,
		"cookie_time":     ngxCookieTime,
		"parse_http_time": ngxParseHTTPTime,
		"encode_base64":   ngxEncodeBase64,
		"decode_base64":   ngxDecodeBase64,
		"md5": func(c *call) int {
			s := md5.Sum([]byte(c.strOrNil(1)))
			return c.push(lua.LString(hex.EncodeToString(s[:])))
		},
		"md5_bin":  func(c *call) int { s := md5.Sum([]byte(c.strOrNil(1))); return c.push(lua.LString(s[:])) },
		"sha1_bin": func(c *call) int { s := sha1.Sum([]byte(c.strOrNil(1))); return c.push(lua.LString(s[:])) },
		"hmac_sha1": func(c *call) int {
			m := hmac.New(sha1.New, []byte(c.str(1)))
			m.Write([]byte(c.str(2)))
			return c.push(lua.LString(m.Sum(nil)))
		},
		"crc32_short":   func(c *call) int { return c.push(lua.LNumber(crc32.ChecksumIEEE([]byte(c.strOrNil(1))))) },
		"crc32_long":    func(c *call) int { return c.push(lua.LNumber(crc32.ChecksumIEEE([]byte(c.strOrNil(1))))) },
		"escape_uri":    ngxEscapeURI,
		"unescape_uri":  func(c *call) int { return c.push(lua.LString(UnescapeURI(c.strOrNil(1)))) },
		"encode_args":   ngxEncodeArgs,
		"decode_args":   ngxDecodeArgs,
		"quote_sql_str": func(c *call) int { return c.push(lua.LString(QuoteSQLStr(c.str(1)))) },
		"sleep":         ngxSleep,
	})
	ngx.RawSetString("re", newNgxRe(L))
	ngx.RawSetString("shared", o.Dicts.luaTable(L, o))

	cfg := L.NewTable()
	cfg.RawSetString("subsystem", lua.LString("http"))
	cfg.RawSetString("ngx_lua_version", lua.LNumber(NgxLuaVersion))
	cfg.RawSetString("nginx_version", lua.LNumber(NginxVersion))
	cfg.RawSetString("debug", lua.LFalse)
	cfg.RawSetString("is_console", lua.LFalse)
	prefix := o.Prefix
	if prefix == "" {
		prefix = "/"
	}
	setFuncs(L, cfg, map[string]lfunc{
		"prefix":          func(c *call) int { return c.push(lua.LString(prefix)) },
		"nginx_configure": func(c *call) int { return c.push(lua.LString("")) },
	})
	ngx.RawSetString("config", cfg)

	pid := o.PID
	if pid == 0 {
		pid = os.Getpid()
	}
	worker := L.NewTable()
	setFuncs(L, worker, map[string]lfunc{
		"id":      func(c *call) int { return c.push(lua.LNumber(0)) },
		"count":   func(c *call) int { return c.push(lua.LNumber(1)) },
		"pid":     func(c *call) int { return c.push(lua.LNumber(pid)) },
		"exiting": func(c *call) int { return c.push(lua.LFalse) },
	})
	ngx.RawSetString("worker", worker)
}

// strOrNil is the argument convention of ngx's string functions: nil is
// the empty string, numbers are converted, anything else is an error.
func (c *call) strOrNil(n int) string {
	if c.L.Get(n) == lua.LNil {
		return ""
	}
	return c.str(n)
}

func ngxHTTPTime(c *call) int {
	t := time.Unix(c.integer(1), 0).UTC()
	return c.push(lua.LString(t.Format(http.TimeFormat)))
}

func ngxCookieTime(c *call) int {
	t := time.Unix(c.integer(1), 0).UTC()
	return c.push(lua.LString(t.Format("Mon, 02-Jan-06 15:04:05 GMT")))
}

func ngxParseHTTPTime(c *call) int {
	t, err := http.ParseTime(c.str(1))
	if err != nil {
		return c.push(lua.LNil)
	}
	return c.push(lua.LNumber(t.Unix()))
}

func ngxEncodeBase64(c *call) int {
	s := c.strOrNil(1)
	if lua.LVAsBool(c.L.Get(2)) {
		if _, ok := c.L.Get(2).(lua.LBool); !ok {
			c.typeError(2, "boolean")
		}
		return c.push(lua.LString(base64.RawStdEncoding.EncodeToString([]byte(s))))
	}
	return c.push(lua.LString(base64.StdEncoding.EncodeToString([]byte(s))))
}

func ngxDecodeBase64(c *call) int {
	out, ok := DecodeBase64(c.str(1), base64.RawStdEncoding)
	if !ok {
		return c.push(lua.LNil)
	}
	return c.push(lua.LString(out))
}

// DecodeBase64 decodes s the way nginx's ngx_decode_base64 does: padding
// is optional, decoding stops at the first '=', and a length of 4n+1
// characters is invalid. enc is the raw (unpadded) alphabet to use.
func DecodeBase64(s string, enc *base64.Encoding) ([]byte, bool) {
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	if len(s)%4 == 1 {
		return nil, false
	}
	out, err := enc.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return out, true
}

func ngxEscapeURI(c *call) int {
	s := c.strOrNil(1)
	typ := c.optInt(2, 2)
	switch typ {
	case 0:
		return c.push(lua.LString(EscapeURI(s, true)))
	case 2:
		return c.push(lua.LString(EscapeURI(s, false)))
	}
	c.argError(2, "\"type\" "+strconv.FormatInt(typ, 10)+" out of range")
	return 0
}

// EscapeURI escapes s as ngx.escape_uri does: as a URI component (type 2:
// everything but ALPHA DIGIT - . _ ~ ! ' ( ) * becomes %XX), or, when full
// is set, as a full URI (type 0: space, #, %, ?, controls and bytes >= 0x7F).
func EscapeURI(s string, full bool) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		var keep bool
		if full {
			keep = ch > 0x1F && ch < 0x7F && ch != ' ' && ch != '#' && ch != '%' && ch != '?'
		} else {
			keep = ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
				strings.IndexByte("-._~!'()*", ch) >= 0
		}
		if keep {
			b.WriteByte(ch)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexUpper[ch>>4])
			b.WriteByte(hexUpper[ch&15])
		}
	}
	return b.String()
}

// UnescapeURI decodes %XX sequences and '+' (as a space) the way
// ngx.unescape_uri does; malformed sequences are kept as they are.
func UnescapeURI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '+' {
			b.WriteByte(' ')
			continue
		}
		if ch == '%' && i+2 < len(s)+0 && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func ngxEncodeArgs(c *call) int {
	t := c.table(1)
	s, err := EncodeArgs(t)
	if err != nil {
		c.argError(1, err.Error())
	}
	return c.push(lua.LString(s))
}

type argErr string

func (e argErr) Error() string { return string(e) }

// EncodeArgs encodes a Lua table as a query string the way ngx.encode_args
// does: keys and string/number values escaped as URI components, true as
// a bare key, false omitted, array values as repeated keys. Keys are
// sorted so the output is stable.
func EncodeArgs(t *lua.LTable) (string, error) {
	type kv struct {
		k string
		v lua.LValue
	}
	var pairs []kv
	var err error
	t.ForEach(func(k, v lua.LValue) {
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			key = kk.String()
		default:
			err = argErr("attempt to use " + k.Type().String() + " as query arg key")
			return
		}
		pairs = append(pairs, kv{key, v})
	})
	if err != nil {
		return "", err
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var parts []string
	add := func(key string, v lua.LValue) error {
		switch vv := v.(type) {
		case lua.LBool:
			if vv {
				parts = append(parts, EscapeURI(key, false))
			}
		case lua.LString, lua.LNumber:
			parts = append(parts, EscapeURI(key, false)+"="+EscapeURI(lua.LVAsString(vv), false))
		default:
			return argErr("attempt to use " + v.Type().String() + " as query arg value")
		}
		return nil
	}
	for _, p := range pairs {
		if tv, ok := p.v.(*lua.LTable); ok {
			for i := 1; i <= tv.Len(); i++ {
				if err := add(p.k, tv.RawGetInt(i)); err != nil {
					return "", err
				}
			}
			continue
		}
		if err := add(p.k, p.v); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, "&"), nil
}

// Arg is one decoded query argument; Value is nil for a bare key.
type Arg struct {
	Key   string
	Value *string
}

// DecodeArgs splits a query string as ngx.decode_args does, up to max
// arguments (max <= 0: unlimited). Keys and values are unescaped ('+' is a
// space); pairs with an empty key are skipped.
func DecodeArgs(s string, max int) []Arg {
	var out []Arg
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		if max > 0 && len(out) >= max {
			break
		}
		k, v, hasEq := strings.Cut(part, "=")
		key := UnescapeURI(k)
		if key == "" {
			continue
		}
		a := Arg{Key: key}
		if hasEq {
			val := UnescapeURI(v)
			a.Value = &val
		}
		out = append(out, a)
	}
	return out
}

func ngxDecodeArgs(c *call) int {
	s := c.str(1)
	max := c.optInt(2, 100)
	return c.push(ArgsTable(c.L, DecodeArgs(s, int(max))))
}

// ArgsTable builds the Lua table ngx.decode_args returns: a bare key is
// true, a repeated key holds an array of its values in order.
func ArgsTable(L *lua.LState, args []Arg) *lua.LTable {
	t := L.NewTable()
	for _, a := range args {
		var v lua.LValue = lua.LTrue
		if a.Value != nil {
			v = lua.LString(*a.Value)
		}
		switch prev := t.RawGetString(a.Key).(type) {
		case *lua.LNilType:
			t.RawSetString(a.Key, v)
		case *lua.LTable:
			prev.Append(v)
		default:
			list := L.NewTable()
			list.Append(prev)
			list.Append(v)
			t.RawSetString(a.Key, list)
		}
	}
	return t
}

// QuoteSQLStr quotes s as a MySQL string literal, as ngx.quote_sql_str does.
func QuoteSQLStr(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case 0:
			b.WriteString(`\0`)
		case '\b':
			b.WriteString(`\b`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 26:
			b.WriteString(`\Z`)
		case '\\', '\'', '"':
			b.WriteByte('\\')
			b.WriteByte(ch)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// ngxSleep blocks for the given seconds (millisecond resolution) or until
// the state's context ends, whichever comes first; when the context ends
// first it raises the context's error.
func ngxSleep(c *call) int {
	sec := c.num(1)
	if sec < 0 || math.IsNaN(sec) {
		c.L.RaiseError("invalid sleep duration \"%v\"", sec)
	}
	if sec > maxSleepSeconds {
		sec = maxSleepSeconds
	}
	timer := time.NewTimer(time.Duration(sec * float64(time.Second)))
	defer timer.Stop()
	ctx := stateContext(c.L)
	select {
	case <-timer.C:
	case <-ctx.Done():
		c.L.RaiseError("ngx.sleep interrupted: %v", ctx.Err())
	}
	return 0
}

func parseLuaNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(u), err
	}
	return strconv.ParseFloat(s, 64)
}

func sortStrings(s []string) { sort.Strings(s) }
