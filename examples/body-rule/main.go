// Command body-rule is a Gatehouse Wasm plugin: it reads the request body
// and rejects the request with 400 when the body contains a forbidden
// string. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o body-rule.wasm .
package main

import (
	"bytes"

	"github.com/gatehouse/gatehouse/sdk"
)

// Config is the plugin's configuration.
type Config struct {
	// Forbidden is the string no request body may contain.
	Forbidden string `json:"forbidden" required:"true" len_min:"1"`
}

// Plugin is the plugin, registered by init (and tested natively).
var Plugin = sdk.Plugin[Config]{
	Version:  "1.0.0",
	Priority: 1000,
	Access: func(k sdk.Kong, c *Config) error {
		body, err := k.Request().RawBody()
		if err != nil {
			return err
		}
		if bytes.Contains(body, []byte(c.Forbidden)) {
			sdk.JSONExit(k, 400, map[string]string{"message": "forbidden content"}, nil)
		}
		return nil
	},
}

func init() { sdk.Register(Plugin) }

func main() {}
