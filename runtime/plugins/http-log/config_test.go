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

// TestLegacyQueueParams: the deprecated queue_size and flush_timeout win
// over the queue record unless they hold their old defaults, as in Kong's
// Queue.get_plugin_params.
func TestLegacyQueueParams(t *testing.T) {
	cases := []struct {
		extra      map[string]any
		batch      int64
		coalescing float64
	}{
		{map[string]any{}, 1, 1},
		{map[string]any{"queue_size": 1, "flush_timeout": 2}, 1, 1},
		{map[string]any{"queue_size": 50}, 50, 1},
		{map[string]any{"flush_timeout": 7.5}, 1, 7.5},
		{map[string]any{"queue_size": 5, "queue": map[string]any{"max_batch_size": 20}}, 5, 1},
		{map[string]any{"retry_count": 3}, 1, 1},
	}
	for _, tc := range cases {
		in := map[string]any{"http_endpoint": "http://127.0.0.1:1/x"}
		for k, v := range tc.extra {
			in[k] = v
		}
		c, err := ParseConfig(in)
		if err != nil {
			t.Fatal(err)
		}
		q := legacyQueueParams(c)
		if q.MaxBatchSize != tc.batch || q.MaxCoalescingDelay != tc.coalescing {
			t.Errorf("%v: batch %d coalescing %v, want %d %v", tc.extra, q.MaxBatchSize, q.MaxCoalescingDelay, tc.batch, tc.coalescing)
		}
	}
}
