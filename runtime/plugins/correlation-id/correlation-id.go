// Package correlationid is Gatehouse's native correlation-id plugin,
// compatible with Kong 3.9's: it gives every request an id in a header
// sent upstream (and, optionally, back to the client), keeping one the
// client already sent. See README.md.
package correlationid

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "correlation-id"
	Priority = 100001
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:       Name,
	Version:    Version,
	Priority:   Priority,
	Phases:     []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter},
	Schema:     Schema(),
	InitWorker: initWorker,
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration.
type Config struct {
	HeaderName     string `config:"header_name"`
	Generator      string `config:"generator"`
	EchoDownstream bool   `config:"echo_downstream"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// worker is the node's uuid#counter state: a uuid drawn at init_worker
// and a counter, as each Kong worker keeps.
var worker atomic.Pointer[counterState]

type counterState struct {
	prefix  string
	counter atomic.Uint64
}

// initWorker draws the node's uuid and resets its counter (Kong's
// init_worker).
func initWorker(context.Context) error {
	worker.Store(&counterState{prefix: uuid.NewString() + "#"})
	return nil
}

func counterID() string {
	w := worker.Load()
	if w == nil {
		// A host that did not run init_worker (a test calling the plugin
		// directly) gets its state on first use.
		worker.CompareAndSwap(nil, &counterState{prefix: uuid.NewString() + "#"})
		w = worker.Load()
	}
	return w.prefix + strconv.FormatUint(w.counter.Add(1), 10)
}

var pid = os.Getpid()

// trackerID is Kong's tracker generator: server address and port, worker
// pid, connection serial number, requests on the connection, and the time
// with milliseconds.
func trackerID(k hostabi.Kong) string {
	req := k.Request()
	addr, _ := req.Var("server_addr")
	port, _ := req.Var("server_port")
	conn, _ := req.Var("connection")
	reqs, _ := req.Var("connection_requests")
	now := float64(time.Now().UnixMilli()) / 1000
	return fmt.Sprintf("%s-%s-%d-%s-%s-%.3f", addr, port, pid, conn, reqs, now)
}

// Plugin is one configured correlation-id instance; safe for concurrent
// use.
type Plugin struct{ conf Config }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin { return &Plugin{conf: c} }

func (p *Plugin) generate(k hostabi.Kong) string {
	switch p.conf.Generator {
	case "uuid":
		return uuid.NewString()
	case "tracker":
		return trackerID(k)
	}
	return counterID()
}

// idKey holds the request's id in the plugin's context for header_filter.
const idKey = "correlation_id"

// Access implements hostabi.Accessor: the client's id is kept when it
// sent a non-empty one, otherwise one is generated and set on the
// upstream request; either way it goes into the log record as
// correlation_id.
func (p *Plugin) Access(k hostabi.Kong) error {
	id := k.Request().Header(p.conf.HeaderName)
	if id == "" {
		id = p.generate(k)
		k.ServiceRequest().SetHeader(p.conf.HeaderName, id)
	}
	k.Log().SetSerializeValue("correlation_id", id)
	if p.conf.EchoDownstream {
		k.Ctx().Plugin().Set(idKey, id)
	}
	return nil
}

// HeaderFilter implements hostabi.HeaderFilterer: with echo_downstream,
// the id goes back to the client — the one access used, else the
// client's, else a new one (a request that ended before access).
func (p *Plugin) HeaderFilter(k hostabi.Kong) error {
	if !p.conf.EchoDownstream {
		return nil
	}
	id, _ := k.Ctx().Plugin().Get(idKey)
	s, _ := id.(string)
	if s == "" {
		s = k.Request().Header(p.conf.HeaderName)
	}
	if s == "" {
		s = p.generate(k)
	}
	k.Response().SetHeader(p.conf.HeaderName, s)
	return nil
}
