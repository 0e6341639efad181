// Command sc-exit is the Wasm version of the exit scenario: it answers
// every request itself.
package main

import "github.com/gatehouse/gatehouse/sdk"

// Config is the scenario's configuration.
type Config struct {
	Status      int    `json:"status" required:"true"`
	Body        string `json:"body" required:"true"`
	ContentType string `json:"content_type" default:"text/plain"`
}

func init() {
	sdk.Register(sdk.Plugin[Config]{
		Version:  "1.0.0",
		Priority: 1000,
		Access: func(k sdk.Kong, c *Config) error {
			k.Response().Exit(c.Status, []byte(c.Body), map[string]string{"Content-Type": c.ContentType, "X-Scenario": "exit"})
			return nil
		},
	})
}

func main() {}
