// Package udplog is Gatehouse's native udp-log plugin, compatible with
// Kong 3.9's: the log phase sends each request's log record
// (kong.log.serialize, as JSON) in one UDP datagram. See README.md.
package udplog

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "udp-log"
	Priority = 8
	Version  = plugin.BundledVersion
)

// Config is the plugin's configuration, decoded from its schema.
type Config struct {
	Host    string  `config:"host"`
	Port    int64   `config:"port"`
	Timeout float64 `config:"timeout"`
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

// Plugin is one configured udp-log instance; safe for concurrent use.
type Plugin struct{ conf Config }

// Log implements hostabi.LogPhaser.
func (p *Plugin) Log(k hostabi.Kong) error {
	msg, err := pluginkit.LogRecordJSON(k)
	if err != nil {
		return fmt.Errorf("udp-log: %w", err)
	}
	return p.Send(msg)
}

// Send sends one datagram to the configured peer.
func (p *Plugin) Send(msg []byte) error {
	addr := net.JoinHostPort(p.conf.Host, strconv.FormatInt(p.conf.Port, 10))
	timeout := time.Duration(p.conf.Timeout * float64(time.Millisecond))
	c, err := net.DialTimeout("udp", addr, timeout)
	if err != nil {
		return fmt.Errorf("udp-log: could not connect to %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("udp-log: could not send data to %s: %w", addr, err)
	}
	return nil
}
