// Command header-rewrite is a Gatehouse Wasm plugin: it sets a header on
// the request sent upstream, drops another, and marks the client's
// response with X-Scenario. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o header-rewrite.wasm .
package main

import "github.com/gatehouse/gatehouse/sdk"

// Config is the plugin's configuration.
type Config struct {
	// Header is set upstream to Value.
	Header string `json:"header" required:"true" description:"the header set on the upstream request"`
	Value  string `json:"value" required:"true"`
	// Drop, when set, is removed from the upstream request.
	Drop string `json:"drop,omitempty"`
}

// Plugin is the plugin, registered by init (and tested natively).
var Plugin = sdk.Plugin[Config]{
	Version:  "1.0.0",
	Priority: 1000,
	Access: func(k sdk.Kong, c *Config) error {
		k.ServiceRequest().SetHeader(c.Header, c.Value)
		if c.Drop != "" {
			k.ServiceRequest().ClearHeader(c.Drop)
		}
		return nil
	},
	HeaderFilter: func(k sdk.Kong, c *Config) error {
		k.Response().SetHeader("X-Scenario", "header-rewrite")
		return nil
	},
}

func init() { sdk.Register(Plugin) }

func main() {}
