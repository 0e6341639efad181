package httplog

import "testing"

// TestParseConfigDefaults: an endpoint alone decodes to Kong's defaults.
func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(map[string]any{"http_endpoint": "http://127.0.0.1:1/x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "POST" || c.ContentType != "application/json" || c.Timeout != 10000 || c.Keepalive != 60000 ||
		c.Queue.MaxBatchSize != 1 || c.Queue.MaxEntries != 10000 || c.Queue.MaxBytes != nil || c.Queue.InitialRetryDelay != 0.01 ||
		c.Queue.MaxRetryTime != 60 || c.Queue.ConcurrencyLimit != 1 || c.RetryCount != nil {
		t.Fatalf("%+v", c)
	}
}
