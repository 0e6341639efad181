package httplog

import "crypto/tls"

// insecureTLS is Kong's ssl_verify = false for the log endpoint.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // Kong's http-log does not verify the endpoint
}
