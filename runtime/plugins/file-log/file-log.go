// Package filelog is Gatehouse's native file-log plugin, compatible with
// Kong 3.9's: the log phase appends each request's log record
// (kong.log.serialize, as JSON, one line each) to a file, created with mode
// 0644 when missing; the file stays open between requests unless `reopen`
// is set. See README.md.
package filelog

import (
	"fmt"
	"os"
	"sync"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "file-log"
	Priority = 9
	Version  = plugin.BundledVersion
)

// Config is the plugin's configuration, decoded from its schema.
type Config struct {
	Path   string `config:"path"`
	Reopen bool   `config:"reopen"`
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

// files are the open log files by path, shared by every instance as
// Kong's per-worker descriptor table is; each has its own lock so lines
// never interleave.
var (
	filesMu sync.Mutex
	files   = map[string]*logFile{}
)

type logFile struct {
	mu sync.Mutex
	f  *os.File
}

func fileFor(path string) *logFile {
	filesMu.Lock()
	defer filesMu.Unlock()
	lf := files[path]
	if lf == nil {
		lf = &logFile{}
		files[path] = lf
	}
	return lf
}

// Plugin is one configured file-log instance; safe for concurrent use.
type Plugin struct{ conf Config }

// Log implements hostabi.LogPhaser.
func (p *Plugin) Log(k hostabi.Kong) error {
	line, err := pluginkit.LogRecordJSON(k)
	if err != nil {
		return fmt.Errorf("file-log: %w", err)
	}
	return p.Write(append(line, '\n'))
}

// Write appends one line to the configured file, opening it as needed.
func (p *Plugin) Write(line []byte) error {
	lf := fileFor(p.conf.Path)
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.f != nil && p.conf.Reopen {
		lf.f.Close()
		lf.f = nil
	}
	if lf.f == nil {
		f, err := os.OpenFile(p.conf.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("file-log: failed to open the file: %w", err)
		}
		lf.f = f
	}
	if _, err := lf.f.Write(line); err != nil {
		return fmt.Errorf("file-log: writing %s: %w", p.conf.Path, err)
	}
	return nil
}
