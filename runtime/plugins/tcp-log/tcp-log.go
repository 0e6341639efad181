// Package tcplog is Gatehouse's native tcp-log plugin, compatible with
// Kong 3.9's: the log phase sends each request's log record
// (kong.log.serialize, JSON and a newline) over TCP, optionally TLS, keeping
// idle connections for `keepalive` milliseconds. See README.md.
package tcplog

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "tcp-log"
	Priority = 7
	Version  = plugin.BundledVersion
)

// Config is the plugin's configuration, decoded from its schema.
type Config struct {
	Host      string  `config:"host"`
	Port      int64   `config:"port"`
	Timeout   float64 `config:"timeout"`
	Keepalive float64 `config:"keepalive"`
	TLS       bool    `config:"tls"`
	// TLSSNI is "" when unset.
	TLSSNI string `config:"tls_sni"`
	// CustomFieldsByLua is refused: the native plugin runs no Lua.
	CustomFieldsByLua map[string]string `config:"custom_fields_by_lua"`
}

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseLog},
	Schema:   Schema(),
}, func(c Config) (any, error) { return &Plugin{conf: c}, nil })

func init() { plugin.Register(definition) }

// ParseConfig decodes a configuration map with the schema's defaults.
func ParseConfig(m map[string]any) (Config, error) { return plugin.DecodeAs[Config](definition, m) }

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// idleConn is a kept-alive connection and when it expires.
type idleConn struct {
	c       net.Conn
	expires time.Time
}

// pools keeps idle connections by destination (host, port, TLS, SNI), as
// Kong's cosocket pool does.
var (
	poolMu sync.Mutex
	pools  = map[string][]idleConn{}
)

// Plugin is one configured tcp-log instance; safe for concurrent use.
type Plugin struct{ conf Config }

// Log implements hostabi.LogPhaser.
func (p *Plugin) Log(k hostabi.Kong) error {
	line, err := pluginkit.LogRecordJSON(k)
	if err != nil {
		return fmt.Errorf("tcp-log: %w", err)
	}
	return p.Send(append(line, '\n'))
}

func (p *Plugin) key() string {
	return fmt.Sprintf("%s|%d|%t|%s", p.conf.Host, p.conf.Port, p.conf.TLS, p.conf.TLSSNI)
}

// Send writes one message to the server, reusing an idle connection when
// one is kept.
func (p *Plugin) Send(msg []byte) error {
	timeout := time.Duration(p.conf.Timeout * float64(time.Millisecond))
	addr := net.JoinHostPort(p.conf.Host, strconv.FormatInt(p.conf.Port, 10))
	c := p.take()
	if c == nil {
		var err error
		d := &net.Dialer{Timeout: timeout}
		if c, err = d.Dial("tcp", addr); err != nil {
			return fmt.Errorf("tcp-log: failed to connect to %s: %w", addr, err)
		}
		if p.conf.TLS {
			// Kong's sslhandshake(false, sni, false): no verification.
			tc := tls.Client(c, &tls.Config{ServerName: p.conf.TLSSNI, InsecureSkipVerify: true}) //nolint:gosec // as Kong
			_ = tc.SetDeadline(time.Now().Add(timeout))
			if err := tc.Handshake(); err != nil {
				c.Close()
				return fmt.Errorf("tcp-log: failed to perform TLS handshake to %s: %w", addr, err)
			}
			c = tc
		}
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(msg); err != nil {
		c.Close()
		return fmt.Errorf("tcp-log: failed to send data to %s: %w", addr, err)
	}
	p.keep(c)
	return nil
}

// take returns a live idle connection, closing expired ones.
func (p *Plugin) take() net.Conn {
	poolMu.Lock()
	defer poolMu.Unlock()
	k := p.key()
	conns := pools[k]
	for len(conns) > 0 {
		ic := conns[len(conns)-1]
		conns = conns[:len(conns)-1]
		if time.Now().Before(ic.expires) {
			pools[k] = conns
			return ic.c
		}
		ic.c.Close()
	}
	pools[k] = conns
	return nil
}

// maxIdle bounds the idle connections kept per destination.
const maxIdle = 16

func (p *Plugin) keep(c net.Conn) {
	ka := time.Duration(p.conf.Keepalive * float64(time.Millisecond))
	if ka <= 0 {
		c.Close()
		return
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	k := p.key()
	if len(pools[k]) >= maxIdle {
		c.Close()
		return
	}
	pools[k] = append(pools[k], idleConn{c: c, expires: time.Now().Add(ka)})
}
