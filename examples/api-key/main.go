// Command api-key is a Gatehouse Wasm plugin: it lets a request through
// only when a header carries one of the configured keys, and tells the
// upstream which key (its 1-based index) was used. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o api-key.wasm .
package main

import (
	"strconv"

	"github.com/gatehouse/gatehouse/sdk"
)

// Config is the plugin's configuration.
type Config struct {
	// Keys are the accepted keys.
	Keys []string `json:"keys" required:"true"`
	// Header carries the key.
	Header string `json:"header" default:"x-api-key"`
}

// Plugin is the plugin, registered by init (and tested natively).
var Plugin = sdk.Plugin[Config]{
	Version:  "1.0.0",
	Priority: 1000,
	Access: func(k sdk.Kong, c *Config) error {
		got := k.Request().Header(c.Header)
		if got == "" {
			sdk.JSONExit(k, 401, map[string]string{"message": "No API key found in request"}, nil)
			return nil
		}
		for i, key := range c.Keys {
			if key == got {
				k.ServiceRequest().SetHeader("X-Key-Index", strconv.Itoa(i+1))
				return nil
			}
		}
		sdk.JSONExit(k, 403, map[string]string{"message": "Invalid API key"}, nil)
		return nil
	},
}

func init() { sdk.Register(Plugin) }

func main() {}
