package proxy_test

import (
	"testing"
)

// TestDynamicOrdering is Kong's own example of dynamic plugin ordering,
// over real HTTP: rate-limiting (priority 910) normally runs after
// key-auth (1250), so unauthenticated callers only ever get 401. With
// `ordering: {before: {access: [key-auth]}}` on rate-limiting, it counts
// them too: the second unauthenticated call in the minute gets 429. The
// ordering is written through the Admin API in Kong's form syntax, read
// back, and removed again with PATCH.
func TestDynamicOrdering(t *testing.T) {
	up := startUpstream(t, "ordered", nil)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=ordered", "url=http://"+up.addr)
	nd.configure("POST", "/services/ordered/routes", "name=ordered", "paths=/ordered")
	nd.configure("POST", "/routes/ordered/plugins", "name=key-auth")
	rl := nd.configure("POST", "/routes/ordered/plugins", "name=rate-limiting", "config.minute=1", "config.policy=local", "config.limit_by=ip")

	for i := 0; i < 3; i++ {
		if r := nd.request("GET", "/ordered", nil, nil); r.status != 401 {
			t.Fatalf("priority order, call %d: %d %s, want 401", i+1, r.status, r.body)
		}
	}

	got := nd.configure("PATCH", "/plugins/"+rl["id"].(string), "ordering.before.access=key-auth")
	ord, _ := got["ordering"].(map[string]any)
	before, _ := ord["before"].(map[string]any)
	if list, _ := before["access"].([]any); len(list) != 1 || list[0] != "key-auth" {
		t.Fatalf("ordering stored as %v", got["ordering"])
	}
	if r := nd.request("GET", "/ordered", nil, nil); r.status != 401 {
		t.Fatalf("rate-limiting first, call 1: %d %s, want 401", r.status, r.body)
	}
	r := nd.request("GET", "/ordered", nil, nil)
	if r.status != 429 || r.json["message"] != "API rate limit exceeded" {
		t.Fatalf("rate-limiting first, call 2: %d %s, want 429", r.status, r.body)
	}

	// Without the ordering, key-auth answers first again.
	nd.configure("PATCH", "/plugins/"+rl["id"].(string), "ordering=")
	if r := nd.request("GET", "/ordered", nil, nil); r.status != 401 {
		t.Fatalf("ordering removed: %d %s, want 401", r.status, r.body)
	}
}
