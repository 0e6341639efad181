package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	v := Defaults().Values()
	tests := []struct {
		name string
		want any
	}{
		{"prefix", "./gatehouse-data"},
		{"database", "sqlite"},
		{"sqlite_path", filepath.Join("./gatehouse-data", "gatehouse.db")},
		{"pg_host", "127.0.0.1"},
		{"pg_port", 5432},
		{"pg_user", "kong"},
		{"pg_password", ""},
		{"pg_database", "kong"},
		{"pg_ssl", false},
		{"pg_timeout", 5000},
		{"db_update_frequency", 5.0},
		{"proxy_listen", []string{"0.0.0.0:8000 reuseport backlog=16384", "0.0.0.0:8443 ssl http2 reuseport backlog=16384"}},
		{"admin_listen", []string{"127.0.0.1:8001 reuseport backlog=16384", "127.0.0.1:8444 ssl http2 reuseport backlog=16384"}},
		{"admin_gui_listen", []string{"0.0.0.0:8002", "0.0.0.0:8445 ssl"}},
		{"portal_gui_listen", []string{"0.0.0.0:8003", "0.0.0.0:8446 ssl"}},
		{"portal_api_listen", []string{"0.0.0.0:8004", "0.0.0.0:8447 ssl"}},
		{"admin_gui_ssl_enabled", true},
		{"portal", false},
		{"admin_gui_path", "/"},
		{"admin_gui_url", []string{}},
		{"admin_gui_origin", []string{}},
		{"admin_gui_api_url", ""},
		{"admin_gui_auth", ""},
		{"admin_gui_session_conf", ""},
		{"portal_gui_host", "127.0.0.1:8003"},
		{"portal_gui_protocol", "http"},
		{"portal_api_url", ""},
		{"portal_auth", ""},
		{"portal_session_conf", ""},
		{"ssl_cert", []string{}},
		{"ssl_cert_key", []string{}},
		{"admin_gui_ssl_cert_key", []string{}},
		{"status_listen", []string{"127.0.0.1:8100"}},
		{"declarative_config", ""},
		{"plugins", []string{"bundled"}},
		{"log_level", "notice"},
		{"headers", []string{"server_tokens", "latency_tokens"}},
		{"trusted_ips", []string{}},
		{"real_ip_header", "X-Real-IP"},
		{"real_ip_recursive", false},
		{"nginx_admin_client_max_body_size", "10m"},
		{"lua_max_post_args", 100},
		{"lua_package_path", "./?.lua;./?/init.lua;"},
		{"lua_plugins_dir", ""},
		{"lua_timeout", 100},
		{"wasm_plugins_dir", ""},
		{"wasm_memory_limit", "64m"},
		{"wasm_timeout", 100},
		{"wasm", false},
		{"wasm_filters_path", ""},
		{"wasm_filters", []string{"bundled", "user"}},
		{"wasm_plugin_priorities", []string{}},
		{"wasm_grant_env", []string{}},
		{"wasm_grant_dir", ""},
		{"policy_timeout", 20},
		{"nginx_http_client_header_timeout", "60s"},
		{"nginx_http_client_body_timeout", "60s"},
		{"nginx_http_keepalive_timeout", "75s"},
		{"nginx_http_large_client_header_buffers", "4 8k"},
		{"nginx_main_worker_shutdown_timeout", "10s"},
		{"proxy_ssl_enabled", true},
		{"admin_ssl_enabled", true},
		{"proxy_listeners", []map[string]any{{
			"ip": "0.0.0.0", "port": 8000, "listener": "0.0.0.0:8000 reuseport backlog=16384",
			"ssl": false, "http2": false, "proxy_protocol": false, "deferred": false,
			"bind": false, "reuseport": true, "backlog=16384": true,
		}, {
			"ip": "0.0.0.0", "port": 8443, "listener": "0.0.0.0:8443 ssl http2 reuseport backlog=16384",
			"ssl": true, "http2": true, "proxy_protocol": false, "deferred": false,
			"bind": false, "reuseport": true, "backlog=16384": true,
		}}},
		{"admin_gui_listeners", []map[string]any{{
			"ip": "0.0.0.0", "port": 8002, "listener": "0.0.0.0:8002",
			"ssl": false, "http2": false, "proxy_protocol": false, "deferred": false,
			"bind": false, "reuseport": false, "backlog=%d+": false,
		}, {
			"ip": "0.0.0.0", "port": 8445, "listener": "0.0.0.0:8445 ssl",
			"ssl": true, "http2": false, "proxy_protocol": false, "deferred": false,
			"bind": false, "reuseport": false, "backlog=%d+": false,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v[tt.name]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Values()[%q] = %#v, want %#v", tt.name, got, tt.want)
			}
		})
	}
	for _, name := range Settings() {
		if _, ok := v[name]; !ok {
			t.Errorf("Values() lacks %q", name)
		}
	}
	if len(Settings()) != 74 {
		t.Errorf("Settings() has %d names, want 74: %v", len(Settings()), Settings())
	}
	c := Defaults()
	if c.AdminMaxBodyBytes() != 10<<20 || c.LuaMaxPostArgs != 100 {
		t.Errorf("AdminMaxBodyBytes() = %d, LuaMaxPostArgs = %d; want Kong's 10m and 100", c.AdminMaxBodyBytes(), c.LuaMaxPostArgs)
	}
	if c.PGTimeoutDuration() != 5*time.Second {
		t.Errorf("PGTimeoutDuration() = %v", c.PGTimeoutDuration())
	}
	if c.PolicyTimeoutDuration() != 20*time.Millisecond {
		t.Errorf("PolicyTimeoutDuration() = %v, want 20ms", c.PolicyTimeoutDuration())
	}
	if c.DBUpdateFrequencyDuration() != 5*time.Second {
		t.Errorf("DBUpdateFrequencyDuration() = %v", c.DBUpdateFrequencyDuration())
	}
	// Load with nothing must equal Defaults.
	got, err := Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("Load(LoadOptions{}) = %+v, want %+v", got, c)
	}
}

func TestLoadFile(t *testing.T) {
	c, err := Load(LoadOptions{ConfPath: "testdata/gatehouse.conf"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Prefix:     "/var/lib/gatehouse",
		Database:   "postgres",
		SQLiteFile: "",
		PGHost:     "db.internal",
		PGPort:     6432,
		PGUser:     "gate",
		PGPassword: "s3cr#t",
		PGDatabase: "gatehouse",
		PGSSL:      true,
		PGTimeout:  2500, DBUpdateFrequency: 5,
		ProxyListen: []Listener{
			{Addr: "0.0.0.0:8000"},
			{Addr: "0.0.0.0:8443", SSL: true, HTTP2: true, Flags: []string{"ssl", "http2", "reuseport", "backlog=16384"}},
		},
		AdminListen:       []Listener{},
		StatusListen:      []Listener{{Addr: "[::1]:8100"}},
		DeclarativeConfig: "/etc/gatehouse/kong.yml",
		Plugins:           []string{"bundled", "my-plugin"},
		LogLevel:          "debug",
		Headers:           []string{"server_tokens", "X-Kong-Request-Id"},
		TrustedIPs:        []string{"10.0.0.0/8", "192.168.1.1", "::1", "unix:"},
		RealIPHeader:      "X-Forwarded-For",
		RealIPRecursive:   true,
		// Not in the file: defaults.
		AdminClientMaxBodySize:        "10m",
		LuaMaxPostArgs:                100,
		LuaPackagePath:                "./?.lua;./?/init.lua;",
		LuaTimeout:                    100,
		WasmMemoryLimit:               "64m",
		WasmTimeout:                   100,
		PolicyTimeout:                 20,
		AuditLogTTL:                   2592000,
		WasmFilters:                   []string{"bundled", "user"},
		WasmPluginPriorities:          []string{},
		WasmGrantEnv:                  []string{},
		ClientHeaderTimeoutValue:      "60s",
		ClientBodyTimeoutValue:        "60s",
		KeepaliveTimeoutValue:         "75s",
		LargeClientHeaderBuffersValue: "4 8k",
		WorkerShutdownTimeoutValue:    "10s",
	}
	// The settings after nginx_main_worker_shutdown_timeout are not in
	// the file: their defaults.
	d, wv := reflect.ValueOf(Defaults()).Elem(), reflect.ValueOf(want).Elem()
	for _, s := range settings[settingByID["ssl_cert"]:] {
		wv.Field(s.field).Set(d.Field(s.field))
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(testdata/gatehouse.conf) =\n%+v\nwant\n%+v", c, want)
	}
	if got, want := c.SQLitePath(), filepath.Join("/var/lib/gatehouse", "gatehouse.db"); got != want {
		t.Errorf("SQLitePath() = %q, want %q", got, want)
	}
	v := c.Values()
	checks := map[string]any{
		"pg_password":       "******",
		"admin_listen":      []string{"off"},
		"admin_listeners":   []map[string]any{},
		"admin_ssl_enabled": false,
		"proxy_ssl_enabled": true,
		"proxy_listen":      []string{"0.0.0.0:8000", "0.0.0.0:8443 ssl http2 reuseport backlog=16384"},
		"status_listeners": []map[string]any{{
			"ip": "[::1]", "port": 8100, "listener": "[::1]:8100",
			"ssl": false, "http2": false, "proxy_protocol": false, "deferred": false,
			"bind": false, "reuseport": false, "backlog=%d+": false,
		}},
	}
	for k, want := range checks {
		if got := v[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("Values()[%q] = %#v, want %#v", k, got, want)
		}
	}
	pl := v["proxy_listeners"].([]map[string]any)[1]
	if pl["backlog=16384"] != true || pl["ssl"] != true || pl["http2"] != true || pl["reuseport"] != true || pl["bind"] != false {
		t.Errorf("proxy_listeners[1] = %v", pl)
	}
	if _, ok := pl["backlog=%d+"]; ok {
		t.Errorf("proxy_listeners[1] has backlog=%%d+ although a backlog was set: %v", pl)
	}
}

func TestParseConf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []confEntry
		err  string
	}{
		{"empty", "", nil, ""},
		{"comments and blanks", "# c\n\n   \n\t# indented\n", nil, ""},
		{"trim", "  pg_host   =   h  \n", []confEntry{{1, "pg_host", "h"}}, ""},
		{"no spaces", "pg_host=h", []confEntry{{1, "pg_host", "h"}}, ""},
		{"empty value", "pg_password =\n", []confEntry{{1, "pg_password", ""}}, ""},
		{"trailing comment", "pg_host = h # comment", []confEntry{{1, "pg_host", "h"}}, ""},
		{"comment right after value", "pg_host = h#c", []confEntry{{1, "pg_host", "h"}}, ""},
		{"escaped hash", `pg_password = a\#b\#`, []confEntry{{1, "pg_password", "a#b#"}}, ""},
		{"escaped then comment", `pg_password = a\#b # c`, []confEntry{{1, "pg_password", "a#b"}}, ""},
		{"other backslashes kept", `pg_password = a\b\\#c`, []confEntry{{1, "pg_password", `a\b\#c`}}, ""},
		{"equals in value", "pg_password = a=b", []confEntry{{1, "pg_password", "a=b"}}, ""},
		{"crlf and bom", "\ufeffpg_host = h\r\npg_user = u\r\n", []confEntry{{1, "pg_host", "h"}, {2, "pg_user", "u"}}, ""},
		{"line numbers", "\n# c\npg_host = h\n\npg_user = u", []confEntry{{3, "pg_host", "h"}, {5, "pg_user", "u"}}, ""},
		{"last wins order kept", "pg_host = a\npg_host = b", []confEntry{{1, "pg_host", "a"}, {2, "pg_host", "b"}}, ""},
		{"missing equals", "pg_host h\n", nil, `config file f.conf line 1: expected "name = value", got "pg_host h"`},
		{"missing name", "\n = v\n", nil, `config file f.conf line 2: missing setting name before "="`},
		{"commented equals", "pg_host # = h\n", nil, `config file f.conf line 1: expected "name = value", got "pg_host"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConf("f.conf", []byte(tt.in))
			if errString(err) != tt.err {
				t.Fatalf("error = %q, want %q", errString(err), tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("entries = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(*Config) string
	}{
		{"KONG_ alone", []string{"KONG_PG_HOST=kong-host"}, func(c *Config) string { return c.PGHost }},
		{"GATEHOUSE_ alone", []string{"GATEHOUSE_PG_HOST=gh-host"}, func(c *Config) string { return c.PGHost }},
		{"GATEHOUSE_ wins", []string{"GATEHOUSE_PG_HOST=gh-host", "KONG_PG_HOST=kong-host"}, func(c *Config) string { return c.PGHost }},
		{"GATEHOUSE_ wins regardless of order", []string{"KONG_PG_HOST=kong-host", "GATEHOUSE_PG_HOST=gh-host"}, func(c *Config) string { return c.PGHost }},
		{"later duplicate wins", []string{"KONG_PG_HOST=a", "KONG_PG_HOST=b"}, func(c *Config) string { return c.PGHost }},
		{"value trimmed", []string{"KONG_PG_HOST=  spaced  "}, func(c *Config) string { return c.PGHost }},
		{"hash is literal", []string{"KONG_PG_PASSWORD=a#b"}, func(c *Config) string { return c.PGPassword }},
		{"empty value", []string{"KONG_PG_USER="}, func(c *Config) string { return c.PGUser }},
		{"unknown ignored", []string{"KONG_NGINX_WORKER_PROCESSES=4", "GATEHOUSE_NOPE=1", "KONG_pg_host=lower", "PG_HOST=x", "garbage"}, func(c *Config) string { return c.PGHost }},
		{"typed values", []string{"KONG_PG_PORT=6543", "GATEHOUSE_PG_SSL=true", "KONG_PROXY_LISTEN=off"}, func(c *Config) string {
			return fmt.Sprint(c.PGPort, c.PGSSL, len(c.ProxyListen))
		}},
	}
	want := []string{"kong-host", "gh-host", "gh-host", "gh-host", "b", "spaced", "a#b", "", "127.0.0.1", "6543 true 0"}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(LoadOptions{Env: tt.env})
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(c); got != want[i] {
				t.Errorf("got %q, want %q", got, want[i])
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "gatehouse.conf")
	if err := os.WriteFile(conf, []byte("pg_host = file\npg_user = file\npg_database = file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"KONG_PG_USER=env", "KONG_PG_DATABASE=env", "GATEHOUSE_PG_DATABASE=gh-env"}
	tests := []struct {
		name  string
		opts  LoadOptions
		host  string
		user  string
		db    string
		paswd string
	}{
		{"defaults", LoadOptions{}, "127.0.0.1", "kong", "kong", ""},
		{"file", LoadOptions{ConfPath: conf}, "file", "file", "file", ""},
		{"env over file", LoadOptions{ConfPath: conf, Env: env}, "file", "env", "gh-env", ""},
		{"flags over env", LoadOptions{ConfPath: conf, Env: env, Flags: map[string]string{"pg_database": "flag", "pg_password": "pw"}},
			"file", "env", "flag", "pw"},
		{"flags over file", LoadOptions{ConfPath: conf, Flags: map[string]string{"pg_host": "flag"}}, "flag", "file", "file", ""},
		{"empty flag overrides", LoadOptions{ConfPath: conf, Flags: map[string]string{"pg_user": ""}}, "file", "", "file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{c.PGHost, c.PGUser, c.PGDatabase, c.PGPassword}
			want := []string{tt.host, tt.user, tt.db, tt.paswd}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("host/user/database/password = %q, want %q", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknown := write("unknown.conf", "# x\n\npg_hots = db\n")
	twoBad := write("two.conf", "pg_port = abc\nfoo\n")
	goodPort := write("good.conf", "pg_port = 1234\n")
	tests := []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"missing file", LoadOptions{ConfPath: filepath.Join(dir, "nope.conf")},
			"config file " + filepath.Join(dir, "nope.conf") + ": open " + filepath.Join(dir, "nope.conf") + ": no such file or directory"},
		{"unknown in file", LoadOptions{ConfPath: unknown}, "config file " + unknown + ` line 3: unknown setting "pg_hots"`},
		{"all file errors", LoadOptions{ConfPath: twoBad},
			"config file " + twoBad + ` line 2: expected "name = value", got "foo"` + "\n" +
				"config file " + twoBad + ` line 1: pg_port: expected an integer, got "abc"`},
		{"env bad int", LoadOptions{Env: []string{"KONG_PG_PORT=abc"}}, `environment KONG_PG_PORT: pg_port: expected an integer, got "abc"`},
		{"env bad even if overridden by flag", LoadOptions{Env: []string{"KONG_PG_PORT=abc"}, Flags: map[string]string{"pg_port": "1"}},
			`environment KONG_PG_PORT: pg_port: expected an integer, got "abc"`},
		{"env GATEHOUSE_ bad", LoadOptions{Env: []string{"GATEHOUSE_PG_SSL=yes", "KONG_PG_SSL=on"}},
			`environment GATEHOUSE_PG_SSL: pg_ssl: expected a boolean (on, off, true or false), got "yes"`},
		{"file bad even if env overrides", LoadOptions{ConfPath: twoBad, Env: []string{"KONG_PG_PORT=1"}},
			"config file " + twoBad + ` line 2: expected "name = value", got "foo"` + "\n" +
				"config file " + twoBad + ` line 1: pg_port: expected an integer, got "abc"`},
		{"unknown flag", LoadOptions{Flags: map[string]string{"pg_hots": "x", "a_flag": "y"}},
			"flags: unknown setting \"a_flag\"\nflags: unknown setting \"pg_hots\""},
		{"bad flag", LoadOptions{ConfPath: goodPort, Flags: map[string]string{"pg_port": "x1"}}, `flags: pg_port: expected an integer, got "x1"`},
		{"env and flag errors together", LoadOptions{Env: []string{"KONG_LOG_LEVEL=loud"}, Flags: map[string]string{"database": "mysql"}},
			`environment KONG_LOG_LEVEL: log_level: expected one of debug, info, notice, warn, error, crit, alert, emerg, got "loud"` + "\n" +
				`flags: database: expected one of sqlite, postgres, off, got "mysql"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.opts)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Load returned a config with an error")
			}
			if err.Error() != tt.want {
				t.Errorf("error =\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// TestValueErrors checks every validation path, through the config file so
// the example message format is covered too.
func TestValueErrors(t *testing.T) {
	tests := []struct {
		line string
		want string // after "config file gatehouse.conf line 1: "
	}{
		{"pg_hots = x", `unknown setting "pg_hots"`},
		{"PG_HOST = x", `unknown setting "PG_HOST"`},
		{"prefix =", `prefix: must not be empty`},
		{"database = mysql", `database: expected one of sqlite, postgres, off, got "mysql"`},
		{"database =", `database: expected one of sqlite, postgres, off, got ""`},
		{"pg_port = abc", `pg_port: expected an integer, got "abc"`},
		{"pg_port = 1.5", `pg_port: expected an integer, got "1.5"`},
		{"pg_port =", `pg_port: expected an integer, got ""`},
		{"pg_port = 0", `pg_port: must be between 1 and 65535, got 0`},
		{"pg_port = 65536", `pg_port: must be between 1 and 65535, got 65536`},
		{"pg_timeout = -1", `pg_timeout: must be between 1 and 2147483647, got -1`},
		{"pg_timeout = 99999999999999999999", `pg_timeout: expected an integer, got "99999999999999999999"`},
		{"db_update_frequency = 0", `db_update_frequency: must be greater than 0, got 0`},
		{"db_update_frequency = soon", `db_update_frequency: expected a number, got "soon"`},
		{"pg_ssl = yes", `pg_ssl: expected a boolean (on, off, true or false), got "yes"`},
		{"real_ip_recursive = 1", `real_ip_recursive: expected a boolean (on, off, true or false), got "1"`},
		{"log_level = verbose", `log_level: expected one of debug, info, notice, warn, error, crit, alert, emerg, got "verbose"`},
		{"headers = X-Custom", `headers: invalid entry "X-Custom", expected server_tokens, latency_tokens, off or one of the headers X-Kong-Upstream-Latency, X-Kong-Proxy-Latency, X-Kong-Response-Latency, X-Kong-Admin-Latency, X-Kong-Upstream-Status, X-Kong-Request-Id, Via, Server`},
		{"headers = off, Via", `headers: "off" cannot be combined with other values`},
		{"plugins = off, cors", `plugins: "off" cannot be combined with other plugins`},
		{"plugins = my plugin", `plugins: invalid plugin name "my plugin"`},
		{"trusted_ips = 10.0.0.0/33", `trusted_ips: invalid entry "10.0.0.0/33", expected an IPv4 or IPv6 address, a CIDR block or "unix:"`},
		{"trusted_ips = localhost", `trusted_ips: invalid entry "localhost", expected an IPv4 or IPv6 address, a CIDR block or "unix:"`},
		{"real_ip_header =", `real_ip_header: must not be empty`},
		{"real_ip_header = X Real", `real_ip_header: invalid header name "X Real"`},
		{"proxy_listen =", `proxy_listen: empty value; ` + listenUsage},
		{"proxy_listen = 0.0.0.0:80800", `proxy_listen: invalid entry "0.0.0.0:80800": port 80800 out of range 0-65535; ` + listenUsage},
		{"proxy_listen = 0.0.0.0:http", `proxy_listen: invalid entry "0.0.0.0:http": bad port "http"; ` + listenUsage},
		{"admin_listen = 127.0.0.1", `admin_listen: invalid entry "127.0.0.1": expected <ip>:<port>; ` + listenUsage},
		{"admin_listen = 127.0.0.1:8001 tls", `admin_listen: invalid entry "127.0.0.1:8001 tls": unknown flag "tls"; ` + listenUsage},
		{"status_listen = 127.0.0.1:8100 backlog=x", `status_listen: invalid entry "127.0.0.1:8100 backlog=x": bad backlog "backlog=x"; ` + listenUsage},
		{"status_listen = off, 127.0.0.1:8100", `status_listen: "off" cannot be combined with other entries`},
		{"nginx_admin_client_max_body_size = 10mb", `nginx_admin_client_max_body_size: expected a size (a number of bytes with an optional k or m suffix, e.g. 10m), got "10mb"`},
		{"nginx_admin_client_max_body_size = -1", `nginx_admin_client_max_body_size: expected a size (a number of bytes with an optional k or m suffix, e.g. 10m), got "-1"`},
		{"nginx_admin_client_max_body_size = m", `nginx_admin_client_max_body_size: expected a size (a number of bytes with an optional k or m suffix, e.g. 10m), got "m"`},
		{"nginx_admin_client_max_body_size =", `nginx_admin_client_max_body_size: expected a size (a number of bytes with an optional k or m suffix, e.g. 10m), got ""`},
		{"lua_max_post_args = 0", `lua_max_post_args: must be between 1 and 1000, got 0`},
		{"lua_max_post_args = 1001", `lua_max_post_args: must be between 1 and 1000, got 1001`},
		{"lua_max_post_args = many", `lua_max_post_args: expected an integer, got "many"`},
		{"lua_timeout = 0", `lua_timeout: must be between 1 and 60000, got 0`},
		{"wasm_timeout = 0", `wasm_timeout: must be between 1 and 60000, got 0`},
		{"policy_timeout = 0", `policy_timeout: must be between 1 and 60000, got 0`},
		{"wasm_memory_limit = 1k", `wasm_memory_limit: must be between 64k and 4g, got "1k"`},
		{"wasm_memory_limit = 5g", `wasm_memory_limit: must be between 64k and 4g, got "5g"`},
		{"wasm_memory_limit = lots", `wasm_memory_limit: expected a size (a number of bytes with an optional k or m suffix, e.g. 10m), got "lots"`},
		{"wasm_plugin_priorities = my-auth", `wasm_plugin_priorities: expected NAME:PRIORITY, got "my-auth"`},
		{"wasm_plugin_priorities = :5", `wasm_plugin_priorities: expected NAME:PRIORITY, got ":5"`},
		{"wasm_plugin_priorities = a b:5", `wasm_plugin_priorities: expected NAME:PRIORITY, got "a b:5"`},
		{"wasm_plugin_priorities = my-auth:high", `wasm_plugin_priorities: my-auth: expected an integer priority, got "high"`},
		{"wasm_plugin_priorities = a:1, a:2", `wasm_plugin_priorities: a is listed twice`},
		{"wasm_grant_env = A=B", `wasm_grant_env: invalid environment variable name "A=B"`},
		{"wasm_grant_env = A, B C", `wasm_grant_env: invalid environment variable name "B C"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			err := Defaults().applyConf("gatehouse.conf", []byte(tt.line+"\n"))
			want := "config file gatehouse.conf line 1: " + tt.want
			if errString(err) != want {
				t.Errorf("error =\n%s\nwant\n%s", errString(err), want)
			}
		})
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct {
		in   string
		want []Listener
		err  bool
	}{
		{in: "off", want: []Listener{}},
		{in: " off ", want: []Listener{}},
		{in: "0.0.0.0:8000", want: []Listener{{Addr: "0.0.0.0:8000"}}},
		{in: "0.0.0.0:8000, 0.0.0.0:8443 ssl", want: []Listener{{Addr: "0.0.0.0:8000"}, {Addr: "0.0.0.0:8443", SSL: true, Flags: []string{"ssl"}}}},
		{in: "0.0.0.0:8000,,0.0.0.0:8001,", want: []Listener{{Addr: "0.0.0.0:8000"}, {Addr: "0.0.0.0:8001"}}},
		{in: "*:80", want: []Listener{{Addr: "0.0.0.0:80"}}},
		{in: "127.0.0.1:0", want: []Listener{{Addr: "127.0.0.1:0"}}},
		{in: "[::]:8000 http2", want: []Listener{{Addr: "[::]:8000", HTTP2: true, Flags: []string{"http2"}}}},
		{in: "[0:0::1]:08000", want: []Listener{{Addr: "[::1]:8000"}}},
		{in: "LocalHost:8001", want: []Listener{{Addr: "localhost:8001"}}},
		{in: "1.2.3.4:1 backlog=5 bind ssl deferred proxy_protocol ssl http2 reuseport",
			want: []Listener{{Addr: "1.2.3.4:1", SSL: true, HTTP2: true,
				Flags: []string{"ssl", "http2", "proxy_protocol", "deferred", "bind", "reuseport", "backlog=5"}}}},
		{in: "", err: true},
		{in: " , ", err: true},
		{in: ":8000", err: true},
		{in: "::1:8000", err: true},
		{in: "[1.2.3.4]:80", err: true},
		{in: "[host]:80", err: true},
		{in: "bad_host!:80", err: true},
		{in: "1.2.3:80", err: true},
		{in: "01.2.3.4:80", err: true},
		{in: "a..b:80", err: true},
		{in: "-a:80", err: true},
		{in: "[fe80::1%eth0]:80", want: []Listener{{Addr: "[fe80::1%eth0]:80"}}},
		{in: "gw.example.com.:80", want: []Listener{{Addr: "gw.example.com.:80"}}},
		{in: "1.2.3.4:-1", err: true},
		{in: "1.2.3.4:65536", err: true},
		{in: "1.2.3.4:80 backlog=0", err: true},
		{in: "1.2.3.4:80 SSL", err: true},
		{in: "ssl 1.2.3.4:80", err: true},
		{in: "off, off", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseListen(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("ParseListen(%q) error = %v, want error %v", tt.in, err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseListen(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestListenerMethods(t *testing.T) {
	tests := []struct {
		l        Listener
		host     string
		port     int
		str      string
		backlog  bool
		reuse    bool
		kongIP   string
		kongPort int
	}{
		{Listener{Addr: "0.0.0.0:8000"}, "0.0.0.0", 8000, "0.0.0.0:8000", false, false, "0.0.0.0", 8000},
		{Listener{Addr: "[::1]:8443", SSL: true, Flags: []string{"ssl", "reuseport", "backlog=9"}}, "::1", 8443, "[::1]:8443 ssl reuseport backlog=9", true, true, "[::1]", 8443},
		{Listener{Addr: "garbage"}, "", -1, "garbage", false, false, "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			l := tt.l
			if l.Host() != tt.host || l.Port() != tt.port || l.String() != tt.str ||
				l.HasFlag("backlog") != tt.backlog || l.HasFlag("reuseport") != tt.reuse {
				t.Errorf("Host/Port/String/backlog/reuseport = %q %d %q %v %v", l.Host(), l.Port(), l.String(), l.HasFlag("backlog"), l.HasFlag("reuseport"))
			}
			kv := l.kongValue()
			if kv["ip"] != tt.kongIP || kv["port"] != tt.kongPort || kv["listener"] != tt.str {
				t.Errorf("kongValue() = %v", kv)
			}
		})
	}
}

func TestHeaderEnabled(t *testing.T) {
	tests := []struct {
		headers string
		on      []string
		off     []string
	}{
		{"server_tokens, latency_tokens",
			[]string{"Server", "via", "X-Kong-Proxy-Latency", "X-Kong-Upstream-Latency", "X-Kong-Response-Latency", "X-Kong-Admin-Latency", "server_tokens"},
			[]string{"X-Kong-Upstream-Status", "X-Kong-Request-Id", "off", "X-Unknown"}},
		{"off", nil, []string{"Server", "Via", "X-Kong-Proxy-Latency", "X-Kong-Request-Id"}},
		{"", nil, []string{"Server", "Via"}},
		{"via, x-kong-upstream-status", []string{"Via", "X-Kong-Upstream-Status"}, []string{"Server", "X-Kong-Proxy-Latency"}},
	}
	for _, tt := range tests {
		t.Run(tt.headers, func(t *testing.T) {
			c, err := Load(LoadOptions{Flags: map[string]string{"headers": tt.headers}})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tt.on {
				if !c.HeaderEnabled(h) {
					t.Errorf("HeaderEnabled(%q) = false", h)
				}
			}
			for _, h := range tt.off {
				if c.HeaderEnabled(h) {
					t.Errorf("HeaderEnabled(%q) = true", h)
				}
			}
			eh := c.Values()["enabled_headers"].(map[string]bool)
			if len(eh) != 10 {
				t.Errorf("enabled_headers has %d entries: %v", len(eh), eh)
			}
		})
	}
}

func TestTrustedPrefixes(t *testing.T) {
	c, err := Load(LoadOptions{Env: []string{"KONG_TRUSTED_IPS=10.1.2.3/8, 192.168.0.1, ::1, 2001:db8::/32, unix:"}})
	if err != nil {
		t.Fatal(err)
	}
	got, unix := c.TrustedPrefixes()
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.0.1/32"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	if !unix || !reflect.DeepEqual(got, want) {
		t.Errorf("TrustedPrefixes() = %v, %v; want %v, true", got, unix, want)
	}
	if _, unix := Defaults().TrustedPrefixes(); unix {
		t.Error("default trusted_ips includes unix:")
	}
}

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		flags map[string]string
		want  string
	}{
		{nil, filepath.Join("gatehouse-data", "gatehouse.db")},
		{map[string]string{"prefix": "/srv/gh"}, "/srv/gh/gatehouse.db"},
		{map[string]string{"prefix": "/srv/gh", "sqlite_path": "/data/x.db"}, "/data/x.db"},
		{map[string]string{"sqlite_path": "rel.db"}, "rel.db"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.flags), func(t *testing.T) {
			c, err := Load(LoadOptions{Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.SQLitePath(); got != tt.want {
				t.Errorf("SQLitePath() = %q, want %q", got, tt.want)
			}
			if got := c.Values()["sqlite_path"]; got != tt.want {
				t.Errorf("Values()[sqlite_path] = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBooleansAndEnums(t *testing.T) {
	tests := []struct {
		flags map[string]string
		check func(*Config) bool
	}{
		{map[string]string{"pg_ssl": "on"}, func(c *Config) bool { return c.PGSSL }},
		{map[string]string{"pg_ssl": "TRUE"}, func(c *Config) bool { return c.PGSSL }},
		{map[string]string{"pg_ssl": "Off"}, func(c *Config) bool { return !c.PGSSL }},
		{map[string]string{"real_ip_recursive": "false"}, func(c *Config) bool { return !c.RealIPRecursive }},
		{map[string]string{"database": "OFF"}, func(c *Config) bool { return c.Database == DatabaseOff }},
		{map[string]string{"database": "Postgres"}, func(c *Config) bool { return c.Database == DatabasePostgres }},
		{map[string]string{"log_level": "Warn"}, func(c *Config) bool { return c.LogLevel == "warn" }},
		{map[string]string{"plugins": "off"}, func(c *Config) bool { return reflect.DeepEqual(c.Plugins, []string{"off"}) }},
		{map[string]string{"plugins": ""}, func(c *Config) bool { return reflect.DeepEqual(c.Plugins, []string{}) }},
		{map[string]string{"real_ip_header": "proxy_protocol"}, func(c *Config) bool { return c.RealIPHeader == "proxy_protocol" }},
		{map[string]string{"pg_port": " 15432 "}, func(c *Config) bool { return c.PGPort == 15432 }},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.flags), func(t *testing.T) {
			c, err := Load(LoadOptions{Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

// TestValuesIsCopy checks that mutating Values() does not change the config.
// TestAdminLimits reads the Admin API limits in nginx size syntax and from
// the environment under Kong's names.
func TestAdminLimits(t *testing.T) {
	for in, want := range map[string]int64{"10m": 10 << 20, "10M": 10 << 20, "512k": 512 << 10, "2K": 2 << 10, "1g": 1 << 30, "12345": 12345, "0": 0} {
		c, err := Load(LoadOptions{Flags: map[string]string{"nginx_admin_client_max_body_size": in}})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := c.AdminMaxBodyBytes(); got != want {
			t.Errorf("%s: AdminMaxBodyBytes() = %d, want %d", in, got, want)
		}
		if got := c.Values()["nginx_admin_client_max_body_size"]; got != in {
			t.Errorf("%s: Values() shows %v", in, got)
		}
	}
	c, err := Load(LoadOptions{Env: []string{"KONG_LUA_MAX_POST_ARGS=250", "KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE=1m"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.LuaMaxPostArgs != 250 || c.AdminMaxBodyBytes() != 1<<20 {
		t.Errorf("from KONG_ variables: lua_max_post_args %d, body size %d", c.LuaMaxPostArgs, c.AdminMaxBodyBytes())
	}
	if v := c.Values()["lua_max_post_args"]; v != 250 {
		t.Errorf("Values()[lua_max_post_args] = %#v", v)
	}
}

// TestWasmSettingsFromEnvironment: the Wasm settings take the KONG_ and
// GATEHOUSE_ environment forms as every other setting does.
func TestWasmSettingsFromEnvironment(t *testing.T) {
	tests := []struct {
		env     []string
		dir     string
		bytes   int64
		timeout int
	}{
		{[]string{"KONG_WASM_PLUGINS_DIR=/opt/wasm", "KONG_WASM_MEMORY_LIMIT=32m", "KONG_WASM_TIMEOUT=250"}, "/opt/wasm", 32 << 20, 250},
		{[]string{"GATEHOUSE_WASM_PLUGINS_DIR=/srv/w", "GATEHOUSE_WASM_MEMORY_LIMIT=128k", "GATEHOUSE_WASM_TIMEOUT=5"}, "/srv/w", 128 << 10, 5},
		{nil, "", 64 << 20, 100},
	}
	for _, tt := range tests {
		c, err := Load(LoadOptions{Env: tt.env})
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if c.WasmPluginsDir != tt.dir || c.WasmMemoryLimitBytes() != tt.bytes || c.WasmTimeout != tt.timeout {
			t.Errorf("%v: dir %q, memory %d, timeout %d; want %q, %d, %d", tt.env, c.WasmPluginsDir,
				c.WasmMemoryLimitBytes(), c.WasmTimeout, tt.dir, tt.bytes, tt.timeout)
		}
	}
}

// TestWasmFilterSettings: Kong's wasm, wasm_filters_path and wasm_filters
// from the environment, and which filters wasm_filters enables.
func TestWasmFilterSettings(t *testing.T) {
	tests := []struct {
		env     []string
		wasm    bool
		path    string
		enabled map[string]bool
		err     bool
	}{
		{nil, false, "", map[string]bool{"a": true}, false},
		{[]string{"KONG_WASM=on", "KONG_WASM_FILTERS_PATH=/opt/filters"}, true, "/opt/filters", map[string]bool{"a": true, "b": true}, false},
		{[]string{"GATEHOUSE_WASM=on", "GATEHOUSE_WASM_FILTERS_PATH=/f", "GATEHOUSE_WASM_FILTERS=a"}, true, "/f", map[string]bool{"a": true, "b": false}, false},
		{[]string{"KONG_WASM_FILTERS=off"}, false, "", map[string]bool{"a": false}, false},
		{[]string{"KONG_WASM_FILTERS=bundled"}, false, "", map[string]bool{"a": false}, false},
		{[]string{"KONG_WASM_FILTERS=off,a"}, false, "", nil, true},
		{[]string{"KONG_WASM_FILTERS=a/b"}, false, "", nil, true},
		{[]string{"KONG_WASM=maybe"}, false, "", nil, true},
	}
	for _, tt := range tests {
		c, err := Load(LoadOptions{Env: tt.env})
		if tt.err {
			if err == nil {
				t.Errorf("%v: accepted", tt.env)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if c.Wasm != tt.wasm || c.WasmFiltersPath != tt.path {
			t.Errorf("%v: wasm %v path %q", tt.env, c.Wasm, c.WasmFiltersPath)
		}
		for name, want := range tt.enabled {
			if got := c.WasmFilterEnabled(name); got != want {
				t.Errorf("%v: WasmFilterEnabled(%q) = %v", tt.env, name, got)
			}
		}
	}
}

// TestWasmOperatorSettings: wasm_plugin_priorities, wasm_grant_env and
// wasm_grant_dir from the file and both environment forms.
func TestWasmOperatorSettings(t *testing.T) {
	tests := []struct {
		env   []string
		prios map[string]int
		grant []string
		dir   string
	}{
		{[]string{"KONG_WASM_PLUGIN_PRIORITIES=my-auth:1100, logger:-5", "KONG_WASM_GRANT_ENV=TZ,APP_MODE", "KONG_WASM_GRANT_DIR=/srv/data"},
			map[string]int{"my-auth": 1100, "logger": -5}, []string{"TZ", "APP_MODE"}, "/srv/data"},
		{[]string{"KONG_WASM_PLUGIN_PRIORITIES=a:1", "GATEHOUSE_WASM_PLUGIN_PRIORITIES=b : 2", "GATEHOUSE_WASM_GRANT_ENV=HOME"},
			map[string]int{"b": 2}, []string{"HOME"}, ""},
		{nil, map[string]int{}, []string{}, ""},
	}
	for _, tt := range tests {
		c, err := Load(LoadOptions{Env: tt.env})
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if !reflect.DeepEqual(c.WasmPriorities(), tt.prios) || !reflect.DeepEqual(c.WasmGrantEnv, tt.grant) || c.WasmGrantDir != tt.dir {
			t.Errorf("%v: priorities %v, grant env %v, dir %q", tt.env, c.WasmPriorities(), c.WasmGrantEnv, c.WasmGrantDir)
		}
	}
}

// FuzzWasmPriorities: any wasm_plugin_priorities value parses or is
// refused without panicking, and what parses has one entry per item.
func FuzzWasmPriorities(f *testing.F) {
	for _, s := range []string{"my-auth:1100,logger:5", "a:-1", "a", ":", "a:1,a:2", "a:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items := splitList(s)
		m, err := parsePriorities(items)
		if err == nil && len(m) != len(items) {
			t.Fatalf("%q: %d items, %d priorities", s, len(items), len(m))
		}
	})
}

func TestValuesIsCopy(t *testing.T) {
	c := Defaults()
	c.Values()["plugins"].([]string)[0] = "changed"
	if c.Plugins[0] != "bundled" {
		t.Errorf("Values() aliases Plugins")
	}
}

// TestConfigTags checks that every field carries a conf tag and a default.
func TestConfigTags(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Tag.Get("conf") == "" {
			t.Errorf("field %s has no conf tag", f.Name)
		}
	}
	if len(defaults) != typ.NumField() {
		t.Errorf("%d defaults for %d fields", len(defaults), typ.NumField())
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// encodeConf renders c in kong.conf syntax, so that parsing the result
// yields c again.
func encodeConf(c *Config) []byte {
	var b strings.Builder
	rv := reflect.ValueOf(c).Elem()
	for _, s := range settings {
		f := rv.Field(s.field)
		var v string
		switch x := f.Interface().(type) {
		case string:
			v = x
		case int:
			v = strconv.Itoa(x)
		case float64:
			v = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			v = "off"
			if x {
				v = "on"
			}
		case []string:
			v = strings.Join(x, ", ")
		case []Listener:
			parts := []string{}
			for _, l := range x {
				parts = append(parts, l.String())
			}
			v = strings.Join(parts, ", ")
			if len(x) == 0 {
				v = "off"
			}
		}
		fmt.Fprintf(&b, "%s = %s\n", s.name, strings.ReplaceAll(v, "#", `\#`))
	}
	return []byte(b.String())
}

func FuzzParseConf(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("pg_host = h # comment\n"))
	f.Add([]byte(`pg_password = a\#b\\#c` + "\n"))
	f.Add([]byte("proxy_listen = 0.0.0.0:8000, [::1]:8443 ssl http2 backlog=100\nadmin_listen = off\n"))
	f.Add([]byte("headers = server_tokens, X-Kong-Request-Id\ntrusted_ips = 10.0.0.0/8, unix:\n"))
	f.Add([]byte("\ufeffdatabase = OFF\r\nlog_level = DEBUG\r\npg_ssl = true\r\n"))
	f.Add([]byte("pg_port = 99999\nfoo\n= x\n"))
	if data, err := os.ReadFile("testdata/gatehouse.conf"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Defaults()
		if err := c.applyConf("fuzz.conf", data); err != nil {
			if !strings.HasPrefix(err.Error(), "config file fuzz.conf") {
				t.Fatalf("error does not name its source: %v", err)
			}
			return
		}
		v := c.Values()
		for _, name := range Settings() {
			if _, ok := v[name]; !ok {
				t.Fatalf("Values() lacks %q", name)
			}
		}
		// The parsed configuration must survive a round trip through the
		// file syntax.
		enc := encodeConf(c)
		c2 := Defaults()
		if err := c2.applyConf("roundtrip.conf", enc); err != nil {
			t.Fatalf("re-parsing %q: %v", enc, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed config:\n%+v\n%+v\nencoded:\n%s", c, c2, enc)
		}
	})
}

// TestDBUpdateFrequency: Kong's db_update_frequency is a number of seconds,
// fractions allowed.
func TestDBUpdateFrequency(t *testing.T) {
	c, err := Load(LoadOptions{Flags: map[string]string{"db_update_frequency": "0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.DBUpdateFrequencyDuration() != 500*time.Millisecond || c.Values()["db_update_frequency"] != 0.5 {
		t.Fatalf("db_update_frequency=0.5 gives %v, %v", c.DBUpdateFrequencyDuration(), c.Values()["db_update_frequency"])
	}
}

// TestEnableTeams: enable_teams is off by default, takes the GATEHOUSE_ and
// KONG_ environment forms, and cannot be on without enforce_rbac.
func TestEnableTeams(t *testing.T) {
	tests := []struct {
		env   []string
		flags map[string]string
		teams bool
		err   string
	}{
		{nil, nil, false, ""},
		{[]string{"KONG_ENABLE_TEAMS=on", "KONG_ENFORCE_RBAC=on"}, nil, true, ""},
		{[]string{"GATEHOUSE_ENABLE_TEAMS=on", "KONG_ENABLE_TEAMS=off", "GATEHOUSE_ENFORCE_RBAC=on"}, nil, true, ""},
		{[]string{"GATEHOUSE_ENABLE_TEAMS=off", "KONG_ENABLE_TEAMS=on"}, nil, false, ""},
		{nil, map[string]string{"enable_teams": "on", "enforce_rbac": "on"}, true, ""},
		{[]string{"KONG_ENABLE_TEAMS=on"}, nil, false, "enable_teams = on needs enforce_rbac = on"},
		{nil, map[string]string{"enable_teams": "on", "enforce_rbac": "off"}, false, "enable_teams = on needs enforce_rbac = on"},
		{[]string{"KONG_ENABLE_TEAMS=maybe"}, nil, false, "enable_teams"},
	}
	for _, tt := range tests {
		c, err := Load(LoadOptions{Env: tt.env, Flags: tt.flags})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v %v: error %v, want one with %q", tt.env, tt.flags, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v %v: %v", tt.env, tt.flags, err)
		}
		if c.EnableTeams != tt.teams {
			t.Errorf("%v %v: EnableTeams = %v", tt.env, tt.flags, c.EnableTeams)
		}
	}
}
