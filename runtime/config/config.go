// Package config loads the Gatehouse gateway configuration.
//
// Settings use Kong's names (prefix, database, pg_host, proxy_listen, ...)
// and Kong's value syntax. They come from four sources, the later
// overriding the earlier:
//
//  1. built-in defaults (see Defaults),
//  2. a kong.conf-style configuration file (LoadOptions.ConfPath),
//  3. environment variables GATEHOUSE_<NAME> and KONG_<NAME>, where NAME is
//     the upper-cased setting name; GATEHOUSE_ wins when both are set,
//  4. flags (LoadOptions.Flags), keyed by setting name.
//
// Every value from every source is validated, even when a higher-priority
// source overrides it. Unknown setting names in the file or in flags are
// errors; unknown GATEHOUSE_/KONG_ environment variables are ignored.
package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Supported values of the database setting.
const (
	// DatabaseSQLite stores entities in an embedded SQLite file.
	DatabaseSQLite = "sqlite"
	// DatabasePostgres stores entities in PostgreSQL.
	DatabasePostgres = "postgres"
	// DatabaseOff runs DB-less, from declarative_config.
	DatabaseOff = "off"
)

// Config is the gateway configuration. Each field carries its Kong setting
// name in a `conf` struct tag.
type Config struct {
	// Prefix is the working directory holding runtime data (prefix).
	Prefix string `conf:"prefix"`
	// Database is the storage backend: "sqlite", "postgres" or "off".
	Database string `conf:"database"`
	// SQLiteFile is the raw sqlite_path setting; empty means
	// <prefix>/gatehouse.db. Use SQLitePath for the resolved path.
	SQLiteFile string `conf:"sqlite_path"`
	// PGHost is the PostgreSQL host (pg_host).
	PGHost string `conf:"pg_host"`
	// PGPort is the PostgreSQL port (pg_port).
	PGPort int `conf:"pg_port"`
	// PGUser is the PostgreSQL user (pg_user).
	PGUser string `conf:"pg_user"`
	// PGPassword is the PostgreSQL password (pg_password).
	PGPassword string `conf:"pg_password"`
	// PGDatabase is the PostgreSQL database name (pg_database).
	PGDatabase string `conf:"pg_database"`
	// PGSSL enables TLS to PostgreSQL (pg_ssl).
	PGSSL bool `conf:"pg_ssl"`
	// PGTimeout is the PostgreSQL timeout in milliseconds (pg_timeout).
	PGTimeout int `conf:"pg_timeout"`
	// DBUpdateFrequency is how often, in seconds, a node checks the database
	// for changes other nodes made (db_update_frequency): every change
	// reaches every node within this delay, whatever happens to the
	// connection.
	DBUpdateFrequency float64 `conf:"db_update_frequency"`
	// ProxyListen lists the proxy listeners (proxy_listen); empty means off.
	ProxyListen []Listener `conf:"proxy_listen"`
	// AdminListen lists the Admin API listeners (admin_listen); empty
	// means off.
	AdminListen []Listener `conf:"admin_listen"`
	// StatusListen lists the Status API listeners (status_listen); empty
	// means off.
	StatusListen []Listener `conf:"status_listen"`
	// DeclarativeConfig is the path of a declarative configuration file
	// (declarative_config); empty means none.
	DeclarativeConfig string `conf:"declarative_config"`
	// Plugins lists the enabled plugins (plugins); "bundled" stands for all
	// bundled plugins and a lone "off" disables all plugins.
	Plugins []string `conf:"plugins"`
	// LogLevel is the log level (log_level), lower-case: debug, info,
	// notice, warn, error, crit, alert or emerg.
	LogLevel string `conf:"log_level"`
	// Headers lists the headers the gateway injects (headers), in the
	// canonical spelling; see HeaderEnabled.
	Headers []string `conf:"headers"`
	// TrustedIPs lists trusted client addresses and CIDR blocks
	// (trusted_ips), plus possibly "unix:"; see TrustedPrefixes.
	TrustedIPs []string `conf:"trusted_ips"`
	// RealIPHeader is the header carrying the real client IP
	// (real_ip_header).
	RealIPHeader string `conf:"real_ip_header"`
	// RealIPRecursive enables recursive real IP resolution
	// (real_ip_recursive).
	RealIPRecursive bool `conf:"real_ip_recursive"`
	// AdminClientMaxBodySize is the largest Admin API request body
	// (nginx_admin_client_max_body_size), in nginx size syntax: a number of
	// bytes with an optional k or m suffix; 0 means no limit. Larger bodies
	// are answered with 413. See AdminMaxBodyBytes.
	AdminClientMaxBodySize string `conf:"nginx_admin_client_max_body_size"`
	// LuaMaxPostArgs is the most arguments a form or multipart request body
	// may hold (lua_max_post_args). The Admin API refuses a body with more
	// (Kong drops the rest).
	LuaMaxPostArgs int `conf:"lua_max_post_args"`
	// LuaPackagePath is Kong's lua_package_path: where Lua plugins'
	// modules are looked up, ';'-separated templates in which '?' is the
	// module name with dots as slashes; ";;" inserts the defaults.
	LuaPackagePath string `conf:"lua_package_path"`
	// LuaPluginsDir is a folder of Lua plugin projects, each in one of the
	// layouts Kong plugins come in (lua_plugins_dir); "" means none.
	LuaPluginsDir string `conf:"lua_plugins_dir"`
	// LuaTimeout bounds one phase call of a Lua plugin, in milliseconds
	// (lua_timeout): a call that runs longer ends its request with a 500.
	LuaTimeout int `conf:"lua_timeout"`
	// WasmPluginsDir is the folder of Wasm plugins (wasm_plugins_dir): a
	// module NAME.wasm there is enabled by listing NAME in plugins; ""
	// means none.
	WasmPluginsDir string `conf:"wasm_plugins_dir"`
	// WasmMemoryLimit bounds each Wasm plugin instance's memory
	// (wasm_memory_limit), in nginx size syntax ("64m"); a guest that
	// grows past it fails its request with a 500. See WasmMemoryLimitBytes.
	WasmMemoryLimit string `conf:"wasm_memory_limit"`
	// WasmTimeout bounds one export call of a Wasm plugin, in milliseconds
	// (wasm_timeout): a call that runs longer ends its request with a 500.
	WasmTimeout int `conf:"wasm_timeout"`
	// Wasm is Kong's `wasm` setting: proxy-wasm filters and the
	// filter_chains entity are usable only when it is on (off by default).
	Wasm bool `conf:"wasm"`
	// EnforceRBAC is Kong Enterprise's enforce_rbac: when on, every Admin
	// API call needs a Kong-Admin-Token of an enabled RBAC user whose
	// roles allow it (off by default).
	EnforceRBAC bool `conf:"enforce_rbac"`
	// EnableTeams is webMethods' enableTeamWork (enable_teams): when on,
	// teams own services, routes, consumers, plugins, upstreams and
	// certificates, and an administrator sees and changes only their
	// teams' entities (off by default). It needs enforce_rbac: teams
	// scope RBAC users.
	EnableTeams bool `conf:"enable_teams"`
	// WasmFiltersPath is Kong's wasm_filters_path: the folder whose
	// NAME.wasm files are the proxy-wasm filters; "" means none.
	WasmFiltersPath string `conf:"wasm_filters_path"`
	// WasmFilters is Kong's wasm_filters: which filters are enabled,
	// "user" (every filter of wasm_filters_path), "bundled" (Kong's own
	// filters: Gatehouse bundles none), "off" or filter names. See
	// WasmFilterEnabled.
	WasmFilters []string `conf:"wasm_filters"`
	// AuditLog is Kong Enterprise's audit_log: when on, every Admin API
	// write (and every refused call) is recorded in /audit/requests, and
	// entity changes in /audit/objects. Off by default.
	AuditLog bool `conf:"audit_log"`
	// AuditLogTTL is how long audit records are kept, in seconds
	// (audit_log_ttl; Kong's default is 30 days).
	AuditLogTTL int `conf:"audit_log_ttl"`
	// WasmPluginPriorities overrides the priority Wasm plugins declare
	// (wasm_plugin_priorities): NAME:PRIORITY items, e.g.
	// "my-auth:1100,logger:5". See WasmPriorities.
	WasmPluginPriorities []string `conf:"wasm_plugin_priorities"`
	// WasmGrantEnv lists the node's environment variables every Wasm guest
	// sees (wasm_grant_env); empty grants none.
	WasmGrantEnv []string `conf:"wasm_grant_env"`
	// WasmGrantDir is a host directory every Wasm guest sees read-only at
	// /data (wasm_grant_dir); "" grants no file system.
	WasmGrantDir string `conf:"wasm_grant_dir"`
	// PolicyTimeout bounds one Rego policy evaluation, in milliseconds
	// (policy_timeout): a decision that takes longer, like one that errors,
	// fails closed and ends its request with a 500. See
	// PolicyTimeoutDuration.
	PolicyTimeout int `conf:"policy_timeout"`
	// ClientHeaderTimeoutValue is nginx_http_client_header_timeout, an
	// nginx time ("60s"); see ClientHeaderTimeout.
	ClientHeaderTimeoutValue string `conf:"nginx_http_client_header_timeout"`
	// ClientBodyTimeoutValue is nginx_http_client_body_timeout; see
	// ClientBodyTimeout.
	ClientBodyTimeoutValue string `conf:"nginx_http_client_body_timeout"`
	// KeepaliveTimeoutValue is nginx_http_keepalive_timeout; see
	// KeepaliveTimeout.
	KeepaliveTimeoutValue string `conf:"nginx_http_keepalive_timeout"`
	// LargeClientHeaderBuffersValue is
	// nginx_http_large_client_header_buffers ("4 8k"); see
	// LargeClientHeaderBuffers.
	LargeClientHeaderBuffersValue string `conf:"nginx_http_large_client_header_buffers"`
	// WorkerShutdownTimeoutValue is nginx_main_worker_shutdown_timeout;
	// see WorkerShutdownTimeout.
	WorkerShutdownTimeoutValue string `conf:"nginx_main_worker_shutdown_timeout"`

	// The TLS certificates of the listeners (gui.go): each a list of PEM
	// files or inline PEM (optionally base64-encoded) values, certificate
	// i going with key i. Empty means the default certificate Gatehouse
	// generates into <prefix>/ssl. See ListenerCertificates.

	// SSLCert is the proxy's ssl_cert.
	SSLCert []string `conf:"ssl_cert"`
	// SSLCertKey is the proxy's ssl_cert_key.
	SSLCertKey []string `conf:"ssl_cert_key"`
	// AdminSSLCert is the Admin API's admin_ssl_cert.
	AdminSSLCert []string `conf:"admin_ssl_cert"`
	// AdminSSLCertKey is admin_ssl_cert_key.
	AdminSSLCertKey []string `conf:"admin_ssl_cert_key"`
	// AdminGUISSLCert is Kong Manager's admin_gui_ssl_cert.
	AdminGUISSLCert []string `conf:"admin_gui_ssl_cert"`
	// AdminGUISSLCertKey is admin_gui_ssl_cert_key.
	AdminGUISSLCertKey []string `conf:"admin_gui_ssl_cert_key"`
	// StatusSSLCert is the Status API's status_ssl_cert.
	StatusSSLCert []string `conf:"status_ssl_cert"`
	// StatusSSLCertKey is status_ssl_cert_key.
	StatusSSLCertKey []string `conf:"status_ssl_cert_key"`
	// PortalGUISSLCert is the Developer Portal's portal_gui_ssl_cert
	// (Kong Enterprise).
	PortalGUISSLCert []string `conf:"portal_gui_ssl_cert"`
	// PortalGUISSLCertKey is portal_gui_ssl_cert_key.
	PortalGUISSLCertKey []string `conf:"portal_gui_ssl_cert_key"`
	// PortalAPISSLCert is the portal API's portal_api_ssl_cert (Kong
	// Enterprise).
	PortalAPISSLCert []string `conf:"portal_api_ssl_cert"`
	// PortalAPISSLCertKey is portal_api_ssl_cert_key.
	PortalAPISSLCertKey []string `conf:"portal_api_ssl_cert_key"`

	// AdminGUIListen lists Kong Manager's listeners (admin_gui_listen);
	// empty means off. Kong Manager is served only when admin_listen has
	// a listener too, as in Kong.
	AdminGUIListen []Listener `conf:"admin_gui_listen"`
	// AdminGUIURL lists the URLs Kong Manager is reached at
	// (admin_gui_url), e.g. http://localhost:8002; empty means any. See
	// AdminGUIOrigins.
	AdminGUIURL []string `conf:"admin_gui_url"`
	// AdminGUIPath is the path Kong Manager is served under
	// (admin_gui_path, "/").
	AdminGUIPath string `conf:"admin_gui_path"`
	// AdminGUIAPIURL is where Kong Manager sends its Admin API calls
	// (admin_gui_api_url): [<scheme>://]<host>[:<port>][/<path>], the
	// page's scheme when none is given; empty means the page's host on
	// the first admin_listen port.
	AdminGUIAPIURL string `conf:"admin_gui_api_url"`
	// AdminGUIAuth is Kong Enterprise's admin_gui_auth: "" (no sign-in)
	// or "basic-auth".
	AdminGUIAuth string `conf:"admin_gui_auth"`
	// AdminGUISessionConf is admin_gui_session_conf, the JSON
	// configuration of Kong Manager's sessions; see AdminGUISession.
	AdminGUISessionConf string `conf:"admin_gui_session_conf"`
	// AdminGUIAuthHeader is admin_gui_auth_header: the header Kong
	// Manager names the signed-in admin in ("Kong-Admin-User").
	AdminGUIAuthHeader string `conf:"admin_gui_auth_header"`
	// AdminInvitationExpiry is admin_invitation_expiry: how long an
	// admin's register (and password reset) link lives, in seconds.
	AdminInvitationExpiry int `conf:"admin_invitation_expiry"`
	// AdminGUIAuthLoginAttempts is admin_gui_auth_login_attempts: the
	// failed sign-ins that lock an admin out until a password reset (0:
	// no lockout).
	AdminGUIAuthLoginAttempts int `conf:"admin_gui_auth_login_attempts"`
	// Portal is Kong Enterprise's portal: the Developer Portal and its
	// listeners run only when it is on (off by default).
	Portal bool `conf:"portal"`
	// PortalGUIListen lists the Developer Portal's listeners
	// (portal_gui_listen), opened when portal is on; empty means off.
	PortalGUIListen []Listener `conf:"portal_gui_listen"`
	// PortalAPIListen lists the portal API's listeners
	// (portal_api_listen), opened when portal is on; empty means off.
	PortalAPIListen []Listener `conf:"portal_api_listen"`
	// PortalGUIHost is the host[:port] developers reach the portal at
	// (portal_gui_host).
	PortalGUIHost string `conf:"portal_gui_host"`
	// PortalGUIProtocol is the scheme of the portal's URL
	// (portal_gui_protocol): http or https.
	PortalGUIProtocol string `conf:"portal_gui_protocol"`
	// PortalAPIURL is the URL the portal's pages call the portal API at
	// (portal_api_url); empty means the page's host on the first
	// portal_api_listen port.
	PortalAPIURL string `conf:"portal_api_url"`
	// PortalAuth is portal_auth, how developers sign in: "" (no sign-in)
	// or "basic-auth".
	PortalAuth string `conf:"portal_auth"`
	// PortalSessionConf is portal_session_conf, the JSON configuration of
	// developers' sessions; see PortalSession.
	PortalSessionConf string `conf:"portal_session_conf"`
}

// LoadOptions tells Load where to read settings from.
type LoadOptions struct {
	// ConfPath is the kong.conf-style file to read; empty means none.
	ConfPath string
	// Env is the environment in os.Environ form ("NAME=value"); nil means
	// no environment.
	Env []string
	// Flags maps setting names to values; they override everything else.
	Flags map[string]string
}

// setting describes one configuration setting.
type setting struct {
	name  string
	field int                         // index of the Config field
	def   string                      // default, in configuration syntax
	check func(v reflect.Value) error // optional validation/normalization
}

// defaults holds each setting's default value in configuration syntax.
var defaults = map[string]string{
	"prefix":              "./gatehouse-data",
	"database":            DatabaseSQLite,
	"sqlite_path":         "",
	"pg_host":             "127.0.0.1",
	"pg_port":             "5432",
	"pg_user":             "kong",
	"pg_password":         "",
	"pg_database":         "kong",
	"pg_ssl":              "off",
	"pg_timeout":          "5000",
	"db_update_frequency": "5",
	"proxy_listen":        "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384",
	"admin_listen":        "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384",
	"status_listen":       "127.0.0.1:8100",
	"declarative_config":  "",
	"plugins":             "bundled",
	"log_level":           "notice",
	"headers":             "server_tokens, latency_tokens",
	"trusted_ips":         "",
	"real_ip_header":      "X-Real-IP",
	"real_ip_recursive":   "off",

	"nginx_admin_client_max_body_size": "10m",
	"lua_max_post_args":                "100",
	"lua_package_path":                 "./?.lua;./?/init.lua;",
	"lua_plugins_dir":                  "",
	"lua_timeout":                      "100",
	"wasm_plugins_dir":                 "",
	"wasm_memory_limit":                "64m",
	"wasm_timeout":                     "100",
	"wasm":                             "off",
	"enforce_rbac":                     "off",
	"enable_teams":                     "off",
	"wasm_filters_path":                "",
	"wasm_filters":                     "bundled,user",
	"wasm_plugin_priorities":           "",
	"wasm_grant_env":                   "",
	"wasm_grant_dir":                   "",
	"policy_timeout":                   "20",
	"audit_log":                        "off",
	"audit_log_ttl":                    "2592000",
	// nginx's defaults for the client side; Kong's for the shutdown.
	"nginx_http_client_header_timeout":       "60s",
	"nginx_http_client_body_timeout":         "60s",
	"nginx_http_keepalive_timeout":           "75s",
	"nginx_http_large_client_header_buffers": "4 8k",
	"nginx_main_worker_shutdown_timeout":     "10s",
	// Kong's TLS and Kong Manager settings; Kong Enterprise's portal.
	"ssl_cert":                      "",
	"ssl_cert_key":                  "",
	"admin_ssl_cert":                "",
	"admin_ssl_cert_key":            "",
	"admin_gui_ssl_cert":            "",
	"admin_gui_ssl_cert_key":        "",
	"status_ssl_cert":               "",
	"status_ssl_cert_key":           "",
	"portal_gui_ssl_cert":           "",
	"portal_gui_ssl_cert_key":       "",
	"portal_api_ssl_cert":           "",
	"portal_api_ssl_cert_key":       "",
	"admin_gui_listen":              "0.0.0.0:8002, 0.0.0.0:8445 ssl",
	"admin_gui_url":                 "",
	"admin_gui_path":                "/",
	"admin_gui_api_url":             "",
	"admin_gui_auth":                "",
	"admin_gui_session_conf":        "",
	"admin_gui_auth_header":         "Kong-Admin-User",
	"admin_invitation_expiry":       "259200",
	"admin_gui_auth_login_attempts": "0",
	"portal":                        "off",
	"portal_gui_listen":             "0.0.0.0:8003, 0.0.0.0:8446 ssl",
	"portal_api_listen":             "0.0.0.0:8004, 0.0.0.0:8447 ssl",
	"portal_gui_host":               "127.0.0.1:8003",
	"portal_gui_protocol":           "http",
	"portal_api_url":                "",
	"portal_auth":                   "",
	"portal_session_conf":           "",
}

// checks holds extra validation for settings beyond their Go type.
var checks = map[string]func(v reflect.Value) error{
	"prefix":              checkNonEmpty,
	"database":            checkEnum(DatabaseSQLite, DatabasePostgres, DatabaseOff),
	"pg_port":             checkIntRange(1, 65535),
	"pg_timeout":          checkIntRange(1, 1<<31-1),
	"db_update_frequency": checkPositive,
	"plugins":             checkPlugins,
	"log_level":           checkEnum("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"),
	"headers":             checkHeaders,
	"trusted_ips":         checkTrustedIPs,
	"real_ip_header":      checkToken,

	"nginx_admin_client_max_body_size":       checkSize,
	"lua_max_post_args":                      checkIntRange(1, 1000),
	"lua_timeout":                            checkIntRange(1, 60000),
	"audit_log_ttl":                          checkIntRange(1, 100000000),
	"wasm_memory_limit":                      checkWasmMemory,
	"wasm_timeout":                           checkIntRange(1, 60000),
	"wasm_filters":                           checkWasmFilters,
	"wasm_plugin_priorities":                 checkWasmPriorities,
	"wasm_grant_env":                         checkEnvNames,
	"policy_timeout":                         checkIntRange(1, 60000),
	"nginx_http_client_header_timeout":       checkNginxTime,
	"nginx_http_client_body_timeout":         checkNginxTime,
	"nginx_http_keepalive_timeout":           checkNginxTime,
	"nginx_http_large_client_header_buffers": checkHeaderBuffers,
	"nginx_main_worker_shutdown_timeout":     checkNginxTime,
	"admin_gui_url":                          checkGUIURLs,
	"admin_gui_path":                         checkGUIPath,
	"admin_gui_api_url":                      checkAPIURL,
	"admin_gui_auth":                         checkGUIAuth,
	"admin_gui_session_conf":                 checkSessionConf,
	"admin_gui_auth_header":                  checkToken,
	"admin_invitation_expiry":                checkIntRange(1, 100000000),
	"admin_gui_auth_login_attempts":          checkIntRange(0, 1000000),
	"portal_gui_host":                        checkHostPort,
	"portal_gui_protocol":                    checkEnum("http", "https"),
	"portal_api_url":                         checkOptionalURL,
	"portal_auth":                            checkGUIAuth,
	"portal_session_conf":                    checkSessionConf,
}

var (
	settings    []setting      // in Config field order
	settingByID map[string]int // name -> index in settings
	listType    = reflect.TypeFor[[]string]()
	listenType  = reflect.TypeFor[[]Listener]()
	configType  = reflect.TypeFor[Config]()
)

func init() {
	settingByID = map[string]int{}
	for i := 0; i < configType.NumField(); i++ {
		f := configType.Field(i)
		name := f.Tag.Get("conf")
		if name == "" {
			continue
		}
		def, ok := defaults[name]
		if !ok {
			panic("config: no default for " + name)
		}
		settingByID[name] = len(settings)
		settings = append(settings, setting{name: name, field: i, def: def, check: checks[name]})
	}
}

// Settings returns the names of all known settings, in declaration order.
func Settings() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.name
	}
	return out
}

// Defaults returns a configuration holding only the built-in defaults.
func Defaults() *Config {
	c := &Config{}
	for _, s := range settings {
		if err := c.set(s, s.def); err != nil {
			panic(fmt.Sprintf("config: bad default for %s: %v", s.name, err))
		}
	}
	return c
}

// Load builds a configuration from defaults, the optional configuration
// file, the environment and the flags, in increasing order of precedence.
// All problems found are reported together; each names its source and
// setting, e.g. `config file gatehouse.conf line 3: unknown setting
// "pg_hots"`.
func Load(opts LoadOptions) (*Config, error) {
	c := Defaults()
	var errs []error
	if opts.ConfPath != "" {
		data, err := os.ReadFile(opts.ConfPath)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", opts.ConfPath, err)
		}
		if err := c.applyConf(opts.ConfPath, data); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.applyEnv(opts.Env); err != nil {
		errs = append(errs, err)
	}
	if err := c.applyFlags(opts.Flags); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Check reports the settings that cannot be combined: enable_teams = on
// needs enforce_rbac = on; a listener setting with an "ssl" entry needs
// its certificates and keys in pairs that load; admin_gui_auth and
// portal_auth need their session configuration with a secret.
func (c *Config) Check() error {
	var errs []error
	if c.EnableTeams && !c.EnforceRBAC {
		errs = append(errs, errors.New("enable_teams = on needs enforce_rbac = on: teams scope RBAC users"))
	}
	errs = append(errs, c.checkCertificates(), c.checkAuth())
	return errors.Join(errs...)
}

// applyConf parses a kong.conf-style file and applies its settings.
func (c *Config) applyConf(name string, data []byte) error {
	entries, err := parseConf(name, data)
	errs := []error{err}
	for _, e := range entries {
		src := fmt.Sprintf("config file %s line %d", name, e.line)
		if err := c.setByName(src, e.name, e.value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applyEnv applies GATEHOUSE_* and KONG_* variables naming known settings.
func (c *Config) applyEnv(env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			vars[k] = v // later duplicates win, as with os/exec
		}
	}
	var errs []error
	for _, s := range settings {
		upper := strings.ToUpper(s.name)
		for _, key := range []string{"GATEHOUSE_" + upper, "KONG_" + upper} {
			v, ok := vars[key]
			if !ok {
				continue
			}
			if err := c.setByName("environment "+key, s.name, strings.TrimSpace(v)); err != nil {
				errs = append(errs, err)
			}
			break // GATEHOUSE_ wins over KONG_
		}
	}
	return errors.Join(errs...)
}

// applyFlags applies flag values keyed by setting name.
func (c *Config) applyFlags(flags map[string]string) error {
	// Settings order keeps error messages deterministic; unknown names are
	// reported in sorted order afterwards.
	var errs []error
	for _, s := range settings {
		if v, ok := flags[s.name]; ok {
			if err := c.set(s, strings.TrimSpace(v)); err != nil {
				errs = append(errs, fmt.Errorf("flags: %s: %w", s.name, err))
			}
		}
	}
	var unknown []string
	for k := range flags {
		if _, ok := settingByID[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, fmt.Errorf("flags: unknown setting %q", k))
	}
	return errors.Join(errs...)
}

// setByName sets the named setting, wrapping errors with the source.
func (c *Config) setByName(src, name, value string) error {
	i, ok := settingByID[name]
	if !ok {
		return fmt.Errorf("%s: unknown setting %q", src, name)
	}
	if err := c.set(settings[i], value); err != nil {
		return fmt.Errorf("%s: %s: %w", src, name, err)
	}
	return nil
}

// set parses value according to the field's type, validates it and
// stores it. The config is unchanged on error.
func (c *Config) set(s setting, value string) error {
	field := reflect.ValueOf(c).Elem().Field(s.field)
	nv := reflect.New(field.Type()).Elem()
	switch field.Type() {
	case listenType:
		ls, err := ParseListen(value)
		if err != nil {
			return err
		}
		nv.Set(reflect.ValueOf(ls))
	case listType:
		nv.Set(reflect.ValueOf(splitList(value)))
	default:
		switch field.Kind() {
		case reflect.String:
			nv.SetString(value)
		case reflect.Int:
			n, err := strconv.Atoi(value)
			if err != nil {
				return fmt.Errorf("expected an integer, got %q", value)
			}
			nv.SetInt(int64(n))
		case reflect.Float64:
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("expected a number, got %q", value)
			}
			nv.SetFloat(f)
		case reflect.Bool:
			b, err := parseBool(value)
			if err != nil {
				return err
			}
			nv.SetBool(b)
		default:
			panic("config: unsupported field type " + field.Type().String())
		}
	}
	if s.check != nil {
		if err := s.check(nv); err != nil {
			return err
		}
	}
	field.Set(nv)
	return nil
}

// parseBool accepts Kong's boolean spellings, case-insensitively.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("expected a boolean (on, off, true or false), got %q", s)
}

// splitList splits a comma-separated Kong list, trimming whitespace around
// items and dropping empty items. It never returns nil.
func splitList(s string) []string {
	out := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func checkNonEmpty(v reflect.Value) error {
	if v.String() == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// checkEnum accepts one of the allowed values, case-insensitively, and
// normalizes it to lower case.
func checkEnum(allowed ...string) func(reflect.Value) error {
	return func(v reflect.Value) error {
		s := strings.ToLower(v.String())
		for _, a := range allowed {
			if s == a {
				v.SetString(a)
				return nil
			}
		}
		return fmt.Errorf("expected one of %s, got %q", strings.Join(allowed, ", "), v.String())
	}
}

// checkPositive accepts numbers above zero.
func checkPositive(v reflect.Value) error {
	if f := v.Float(); f <= 0 {
		return fmt.Errorf("must be greater than 0, got %v", f)
	}
	return nil
}

func checkIntRange(lo, hi int) func(reflect.Value) error {
	return func(v reflect.Value) error {
		if n := v.Int(); n < int64(lo) || n > int64(hi) {
			return fmt.Errorf("must be between %d and %d, got %d", lo, hi, n)
		}
		return nil
	}
}

func checkPlugins(v reflect.Value) error {
	list := v.Interface().([]string)
	for _, p := range list {
		if p == "off" && len(list) > 1 {
			return errors.New(`"off" cannot be combined with other plugins`)
		}
		if strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("invalid plugin name %q", p)
		}
	}
	return nil
}

// headerNames maps the lower-cased accepted headers tokens to their
// canonical spelling.
var headerNames = map[string]string{}

// headerTokens lists the values accepted by the headers setting.
var headerTokens = []string{
	"server_tokens", "latency_tokens",
	"X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency", "X-Kong-Response-Latency",
	"X-Kong-Admin-Latency", "X-Kong-Upstream-Status", "X-Kong-Request-Id",
	"Via", "Server", "off",
}

func init() {
	for _, h := range headerTokens {
		headerNames[strings.ToLower(h)] = h
	}
}

func checkHeaders(v reflect.Value) error {
	list := v.Interface().([]string)
	for i, h := range list {
		canon, ok := headerNames[strings.ToLower(h)]
		if !ok {
			return fmt.Errorf("invalid entry %q, expected server_tokens, latency_tokens, off or one of the headers %s",
				h, strings.Join(headerTokens[2:len(headerTokens)-1], ", "))
		}
		if canon == "off" && len(list) > 1 {
			return errors.New(`"off" cannot be combined with other values`)
		}
		list[i] = canon
	}
	return nil
}

func checkTrustedIPs(v reflect.Value) error {
	for _, s := range v.Interface().([]string) {
		if _, err := parseTrusted(s); err != nil {
			return fmt.Errorf("invalid entry %q, expected an IPv4 or IPv6 address, a CIDR block or \"unix:\"", s)
		}
	}
	return nil
}

// parseTrusted parses one trusted_ips entry. "unix:" yields an invalid
// prefix and no error.
func parseTrusted(s string) (netip.Prefix, error) {
	if s == "unix:" {
		return netip.Prefix{}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("zones are not allowed")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkToken requires an HTTP header field name (RFC 9110 token).
func checkToken(v reflect.Value) error {
	s := v.String()
	if s == "" {
		return errors.New("must not be empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return fmt.Errorf("invalid header name %q", s)
		}
	}
	return nil
}

// parseSize reads an nginx size: bytes, or kilobytes or megabytes with a
// k/K or m/M suffix (nginx also takes g/G).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, num = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, num = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, num = 1<<30, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult || num == "" || num[0] == '+' {
		return 0, fmt.Errorf("expected a size (a number of bytes with an optional k or m suffix, e.g. 10m), got %q", s)
	}
	return v * mult, nil
}

func checkSize(v reflect.Value) error {
	_, err := parseSize(v.String())
	return err
}

// AdminMaxBodyBytes returns nginx_admin_client_max_body_size in bytes; 0
// means no limit.
func (c *Config) AdminMaxBodyBytes() int64 {
	n, _ := parseSize(c.AdminClientMaxBodySize)
	return n
}

// checkWasmFilters refuses "off" combined with other values and names
// with control characters or spaces.
func checkWasmFilters(v reflect.Value) error {
	list := v.Interface().([]string)
	for _, p := range list {
		if p == "off" && len(list) > 1 {
			return errors.New(`"off" cannot be combined with other filters`)
		}
		if strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }) {
			return fmt.Errorf("invalid wasm filter name %q", p)
		}
	}
	return nil
}

// WasmFilterEnabled reports whether wasm_filters enables the filter of
// wasm_filters_path named name, as Kong's conf_loader decides for user
// filters: "user" enables all of them, a name enables that one, "off"
// none. It says nothing of the wasm setting itself.
func (c *Config) WasmFilterEnabled(name string) bool {
	for _, f := range c.WasmFilters {
		switch f {
		case "off":
			return false
		case "user", name:
			return true
		}
	}
	return false
}

// checkWasmMemory accepts a size of at least one Wasm page (64k) and at
// most the 4 GiB a 32-bit Wasm memory can address.
func checkWasmMemory(v reflect.Value) error {
	n, err := parseSize(v.String())
	if err != nil {
		return err
	}
	if n < 64<<10 || n > 4<<30 {
		return fmt.Errorf("must be between 64k and 4g, got %q", v.String())
	}
	return nil
}

// parsePriorities parses wasm_plugin_priorities' items, NAME:PRIORITY
// with an integer priority, each name at most once.
func parsePriorities(items []string) (map[string]int, error) {
	out := make(map[string]int, len(items))
	for _, item := range items {
		name, prio, ok := strings.Cut(item, ":")
		name, prio = strings.TrimSpace(name), strings.TrimSpace(prio)
		if !ok || name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("expected NAME:PRIORITY, got %q", item)
		}
		n, err := strconv.Atoi(prio)
		if err != nil {
			return nil, fmt.Errorf("%s: expected an integer priority, got %q", name, prio)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s is listed twice", name)
		}
		out[name] = n
	}
	return out, nil
}

func checkWasmPriorities(v reflect.Value) error {
	_, err := parsePriorities(v.Interface().([]string))
	return err
}

// WasmPriorities returns wasm_plugin_priorities as plugin name ->
// priority (empty when unset).
func (c *Config) WasmPriorities() map[string]int {
	m, _ := parsePriorities(c.WasmPluginPriorities)
	return m
}

// checkEnvNames accepts environment variable names: no '=', no space or
// control character.
func checkEnvNames(v reflect.Value) error {
	for _, name := range v.Interface().([]string) {
		if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '=' }) {
			return fmt.Errorf("invalid environment variable name %q", name)
		}
	}
	return nil
}

// WasmMemoryLimitBytes returns wasm_memory_limit in bytes.
func (c *Config) WasmMemoryLimitBytes() int64 {
	n, _ := parseSize(c.WasmMemoryLimit)
	return n
}

// SQLitePath returns the SQLite database file: sqlite_path when set (used
// as given, relative to the working directory if relative), otherwise
// gatehouse.db inside the prefix.
func (c *Config) SQLitePath() string {
	if c.SQLiteFile != "" {
		return c.SQLiteFile
	}
	return filepath.Join(c.Prefix, "gatehouse.db")
}

// PolicyTimeoutDuration returns policy_timeout as a time.Duration.
func (c *Config) PolicyTimeoutDuration() time.Duration {
	return time.Duration(c.PolicyTimeout) * time.Millisecond
}

// DBUpdateFrequencyDuration returns db_update_frequency as a time.Duration.
func (c *Config) DBUpdateFrequencyDuration() time.Duration {
	return time.Duration(c.DBUpdateFrequency * float64(time.Second))
}

// PGTimeoutDuration returns pg_timeout as a time.Duration.
func (c *Config) PGTimeoutDuration() time.Duration {
	return time.Duration(c.PGTimeout) * time.Millisecond
}

// enabledHeaders computes Kong's enabled_headers table: every header name
// mapped to whether the gateway should emit it.
func (c *Config) enabledHeaders() map[string]bool {
	m := map[string]bool{}
	for _, h := range headerTokens {
		if h != "off" {
			m[h] = false
		}
	}
	for _, h := range c.Headers {
		canon, ok := headerNames[strings.ToLower(h)]
		if !ok || canon == "off" {
			continue
		}
		m[canon] = true
	}
	if m["server_tokens"] {
		m["Via"] = true
		m["Server"] = true
	}
	if m["latency_tokens"] {
		m["X-Kong-Proxy-Latency"] = true
		m["X-Kong-Response-Latency"] = true
		m["X-Kong-Admin-Latency"] = true
		m["X-Kong-Upstream-Latency"] = true
	}
	return m
}

// HeaderEnabled reports whether the gateway should emit the named header
// (case-insensitive), taking the server_tokens and latency_tokens groups
// into account. It also accepts the group names themselves.
func (c *Config) HeaderEnabled(name string) bool {
	canon, ok := headerNames[strings.ToLower(name)]
	if !ok {
		return false
	}
	return c.enabledHeaders()[canon]
}

// TrustedPrefixes returns trusted_ips as network prefixes (a single
// address becomes a /32 or /128), and whether "unix:" was listed.
// Entries that fail to parse are skipped; Load never produces them.
func (c *Config) TrustedPrefixes() (prefixes []netip.Prefix, unix bool) {
	for _, s := range c.TrustedIPs {
		if s == "unix:" {
			unix = true
			continue
		}
		if p, err := parseTrusted(s); err == nil {
			prefixes = append(prefixes, p)
		}
	}
	return prefixes, unix
}

// Values returns every setting name mapped to its value in the JSON form
// Kong shows in the "configuration" object of GET /: lists as []string,
// booleans as bool, numbers as int, listener settings as the list of
// their entries ("off" when empty). It adds Kong's derived keys:
// proxy_listeners, admin_listeners and status_listeners (parsed entries
// with ip, port, listener and one boolean per flag), proxy_ssl_enabled,
// admin_ssl_enabled, status_ssl_enabled and enabled_headers (and the same
// for admin_gui_listen, portal_gui_listen and portal_api_listen), and
// admin_gui_origin (see AdminGUIOrigins). sqlite_path is shown resolved;
// pg_password, the *_ssl_cert_key settings and the session
// configurations are redacted as "******" when set, like Kong does.
func (c *Config) Values() map[string]any {
	m := map[string]any{}
	rv := reflect.ValueOf(c).Elem()
	for _, s := range settings {
		field := rv.Field(s.field)
		switch field.Type() {
		case listenType:
			ls := field.Interface().([]Listener)
			strs := []string{}
			parsed := []map[string]any{}
			ssl := false
			for _, l := range ls {
				strs = append(strs, l.String())
				parsed = append(parsed, l.kongValue())
				ssl = ssl || l.SSL
			}
			if len(ls) == 0 {
				strs = []string{"off"}
			}
			base := strings.TrimSuffix(s.name, "_listen")
			m[s.name] = strs
			m[s.name+"ers"] = parsed
			m[base+"_ssl_enabled"] = ssl
		case listType:
			m[s.name] = append([]string{}, field.Interface().([]string)...)
		default:
			switch field.Kind() {
			case reflect.Int:
				m[s.name] = int(field.Int())
			default:
				m[s.name] = field.Interface()
			}
		}
	}
	m["sqlite_path"] = c.SQLitePath()
	for _, name := range sensitive {
		switch v := m[name].(type) {
		case string:
			if v != "" {
				m[name] = "******"
			}
		case []string:
			for i := range v {
				v[i] = "******"
			}
		}
	}
	m["admin_gui_origin"] = c.AdminGUIOrigins()
	m["enabled_headers"] = c.enabledHeaders()
	return m
}
