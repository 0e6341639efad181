// Command counter is a Gatehouse Wasm plugin: it counts each user's
// requests (a header names the user) in the node's shared cache and
// reports the count in the X-Count response header. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o counter.wasm .
package main

import (
	"strconv"

	"github.com/gatehouse/gatehouse/sdk"
)

// Config is the plugin's configuration.
type Config struct {
	// Header names the user.
	Header string `json:"header" default:"x-user"`
}

// Plugin is the plugin, registered by init (and tested natively).
var Plugin = sdk.Plugin[Config]{
	Version:  "1.0.0",
	Priority: 1000,
	Access: func(k sdk.Kong, c *Config) error {
		key := "sc-counter:" + k.Request().Header(c.Header)
		n, _ := sdk.CacheGet[int64](k, key)
		n++
		k.Cache().Set(key, n, 0)
		k.Response().SetHeader("X-Count", strconv.FormatInt(n, 10))
		return nil
	},
}

func init() { sdk.Register(Plugin) }

func main() {}
