// Command sc-consumer-auth is the Wasm version of the consumer-auth
// scenario: it authenticates the consumer a header names.
package main

import "github.com/gatehouse/gatehouse/sdk"

// Config is the scenario's configuration.
type Config struct {
	Header string `json:"header" default:"x-user"`
}

func init() {
	sdk.Register(sdk.Plugin[Config]{
		Version:  "1.0.0",
		Priority: 1000,
		Access: func(k sdk.Kong, c *Config) error {
			name := k.Request().Header(c.Header)
			var consumer sdk.Entity
			if name != "" {
				var err error
				if consumer, err = k.Client().LoadConsumer(k.Context(), name, true); err != nil {
					return err
				}
			}
			if consumer == nil {
				sdk.JSONExit(k, 401, map[string]string{"message": "Unauthorized"}, nil)
				return nil
			}
			k.Client().Authenticate(consumer, nil)
			username, _ := consumer["username"].(string)
			customID, _ := consumer["custom_id"].(string)
			k.ServiceRequest().SetHeader("X-Consumer-Username", username)
			k.ServiceRequest().SetHeader("X-Consumer-Custom-Id", customID)
			return nil
		},
	})
}

func main() {}
