package proxywasm

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
)

// NodeInfo is what the node tells the filters about itself: Kong's
// kong.version and kong.configuration.* properties.
type NodeInfo struct {
	// Version is kong.version ("3.9.3").
	Version string
	// Configuration is the node's settings as Kong's kong.configuration
	// holds them (runtime/config's Values: name -> value).
	Configuration map[string]any
}

var nodeInfo atomic.Pointer[NodeInfo]

// SetNodeInfo installs the node's version and configuration for the
// kong.version and kong.configuration.* properties (one per process: the
// node sets it when it starts its filters; nil: both NotFound).
func SetNodeInfo(info *NodeInfo) { nodeInfo.Store(info) }

// nodeProperty answers kong.version and kong.configuration.KEY: a
// string, number or boolean setting as its text, a list or table as
// JSON; NotFound for an unknown or unset key.
func nodeProperty(path string) ([]byte, bool) {
	info := nodeInfo.Load()
	if info == nil {
		return nil, false
	}
	if path == "kong.version" {
		return []byte(info.Version), info.Version != ""
	}
	key, ok := strings.CutPrefix(path, "kong.configuration.")
	if !ok || key == "" {
		return nil, false
	}
	v, ok := info.Configuration[key]
	if !ok || v == nil {
		return nil, false
	}
	switch v := v.(type) {
	case string:
		return []byte(v), true
	case bool, int, int64, float64, uint64:
		return []byte(fmt.Sprint(v)), true
	}
	b, err := json.Marshal(v)
	return b, err == nil
}
