package lualib

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

func TestNgxEncodings(t *testing.T) {
	in := "hello\x00wörld/?"
	md := md5.Sum([]byte(in))
	sh := sha1.Sum([]byte(in))
	mac := hmac.New(sha1.New, []byte("key"))
	mac.Write([]byte(in))
	macHex := hex.EncodeToString(mac.Sum(nil))
	L := newState(t, Options{})
	L.SetGlobal("input", luaString(in))
	cases := []struct{ src, want string }{
		{`return ngx.encode_base64(input)`, base64.StdEncoding.EncodeToString([]byte(in))},
		{`return ngx.encode_base64(input, true)`, base64.RawStdEncoding.EncodeToString([]byte(in))},
		{`return ngx.encode_base64(nil)`, ""},
		{`return ngx.decode_base64(ngx.encode_base64(input)) == input`, "true"},
		{`return ngx.decode_base64("aGk")`, "hi"},
		{`return ngx.decode_base64("a")`, "nil"},
		{`return ngx.decode_base64("!!!!")`, "nil"},
		{`return ngx.md5(input)`, hex.EncodeToString(md[:])},
		{`return ngx.md5_bin(input) == ngx.decode_base64("` + base64.StdEncoding.EncodeToString(md[:]) + `")`, "true"},
		{`return #ngx.sha1_bin(input), ngx.encode_base64(ngx.sha1_bin(input))`, "20|" + base64.StdEncoding.EncodeToString(sh[:])},
		{`return require("resty.string").to_hex(ngx.hmac_sha1("key", input))`, macHex},
		{`return ngx.crc32_short(input), ngx.crc32_long(input)`, fmt.Sprintf("%d|%d", crc32.ChecksumIEEE([]byte(in)), crc32.ChecksumIEEE([]byte(in)))},
		{`return ngx.escape_uri("a b/c?d=é~!*")`, "a%20b%2Fc%3Fd%3D%C3%A9~!*"},
		{`return ngx.escape_uri("a b/c?d#", 0)`, "a%20b/c%3Fd%23"},
		{`return ngx.unescape_uri("a%20b+c%2fd%zz")`, "a b c/d%zz"},
		{`return ngx.encode_args({b = "x y", a = 1, c = true, d = false, e = {"1", "2"}})`, "a=1&b=x%20y&c&e=1&e=2"},
		{`local a = ngx.decode_args("a=1&b=x%20y&c&a=2&=z&d=") return a.a[1], a.a[2], a.b, a.c, a.d, a[""]`, "1|2|x y|true||nil"},
		{`local n = 0 for _ in pairs(ngx.decode_args("a=1&b=2&c=3", 2)) do n = n + 1 end return n`, "2"},
		{`return ngx.quote_sql_str("it's \"a\"\n\\")`, `'it\'s \"a\"\n\\'`},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q, want %q", c.src, got, c.want)
		}
	}
}

func TestNgxArgErrors(t *testing.T) {
	L := newState(t, Options{})
	cases := []struct{ src, want string }{
		{`return select(2, pcall(ngx.encode_base64, {}))`, "bad argument #1 to 'encode_base64' (string expected, got table)"},
		{`return select(2, pcall(ngx.hmac_sha1, "k"))`, "bad argument #2 to 'hmac_sha1' (string expected, got no value)"},
		{`return select(2, pcall(ngx.http_time, "x"))`, "bad argument #1 to 'http_time' (number expected, got string)"},
		{`return select(2, pcall(function() return ngx.md5({}) end))`, "<string>:1: bad argument #1 to 'md5' (string expected, got table)"},
		{`return select(2, pcall(ngx.escape_uri, "x", 5))`, `bad argument #2 to 'escape_uri' ("type" 5 out of range)`},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q, want %q", c.src, got, c.want)
		}
	}
}

func TestNgxTime(t *testing.T) {
	clock := &fakeClock{t: time.Date(2010, 11, 18, 11, 27, 35, 250e6, time.UTC)}
	L := newState(t, Options{Now: clock.now})
	local := clock.t.Local()
	cases := []struct{ src, want string }{
		{`return ngx.time()`, "1290079655"},
		{`return string.format("%.3f", ngx.now())`, "1290079655.250"},
		{`return ngx.today()`, local.Format("2006-01-02")},
		{`return ngx.localtime()`, local.Format("2006-01-02 15:04:05")},
		{`return ngx.utctime()`, "2010-11-18 11:27:35"},
		{`return ngx.http_time(1290079655)`, "Thu, 18 Nov 2010 11:27:35 GMT"},
		{`return ngx.cookie_time(1290079655)`, "Thu, 18-Nov-10 11:27:35 GMT"},
		{`return ngx.parse_http_time("Thu, 18 Nov 2010 11:27:35 GMT")`, "1290079655"},
		{`return ngx.parse_http_time("garbage")`, "nil"},
		{`ngx.update_time() return ngx.time()`, "1290079655"},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q, want %q", c.src, got, c.want)
		}
	}
}

func TestNgxConstantsConfigWorker(t *testing.T) {
	runCases(t, Options{Prefix: "/usr/local/kong/", PID: 4242}, []luaCase{
		{"log levels", `return ngx.STDERR, ngx.EMERG, ngx.ALERT, ngx.CRIT, ngx.ERR, ngx.WARN, ngx.NOTICE, ngx.INFO, ngx.DEBUG`, "0|1|2|3|4|5|6|7|8"},
		{"status", `return ngx.HTTP_OK, ngx.HTTP_CREATED, ngx.HTTP_NO_CONTENT, ngx.HTTP_MOVED_TEMPORARILY, ngx.HTTP_BAD_REQUEST, ngx.HTTP_UNAUTHORIZED, ngx.HTTP_FORBIDDEN, ngx.HTTP_NOT_FOUND, ngx.HTTP_NOT_ALLOWED, ngx.HTTP_TOO_MANY_REQUESTS, ngx.HTTP_INTERNAL_SERVER_ERROR, ngx.HTTP_SERVICE_UNAVAILABLE, ngx.HTTP_GATEWAY_TIMEOUT`, "200|201|204|302|400|401|403|404|405|429|500|503|504"},
		{"methods", `return ngx.HTTP_GET, ngx.HTTP_HEAD, ngx.HTTP_POST, ngx.HTTP_PUT, ngx.HTTP_DELETE, ngx.HTTP_OPTIONS, ngx.HTTP_PATCH`, "2|4|8|16|32|512|16384"},
		{"codes", `return ngx.OK, ngx.ERROR, ngx.AGAIN, ngx.DONE, ngx.DECLINED`, "0|-1|-2|-4|-5"},
		{"config", `return ngx.config.subsystem, ngx.config.ngx_lua_version, ngx.config.nginx_version, ngx.config.prefix()`, "http|10026|1025003|/usr/local/kong/"},
		{"worker", `return ngx.worker.id(), ngx.worker.count(), ngx.worker.pid(), ngx.worker.exiting()`, "0|1|4242|false"},
		{"null", `return ngx.null == require("cjson").null, tostring(ngx.null)`, "true|userdata: NULL"},
	})
}

func TestNgxSleep(t *testing.T) {
	L := newState(t, Options{})
	start := time.Now()
	eval(t, L, `ngx.sleep(0.02)`)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("slept %v, want >= 20ms", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	start = time.Now()
	err := L.DoString(`ngx.sleep(10)`)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("sleep not bounded by the context: err=%v after %v", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "deadline") && !strings.Contains(err.Error(), "context") {
		t.Fatalf("unexpected error %v", err)
	}
}
