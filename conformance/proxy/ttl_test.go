package proxy_test

import (
	"net/http"
	"testing"
	"time"
)

// TestKeyAuthCredentialTTL: a key-auth credential created with a ttl
// authenticates until it runs out, then is refused (even though the proxy
// cached it) and is gone from the Admin API's reads.
func TestKeyAuthCredentialTTL(t *testing.T) {
	nd := startNode(t, nil)
	up := startUpstream(t, "ttl", nil)
	nd.configure("POST", "/services", "name=ttl", "url=http://"+up.addr)
	nd.configure("POST", "/services/ttl/routes", "name=ttl", "paths=/ttl")
	nd.configure("POST", "/services/ttl/plugins", "name=key-auth")
	nd.configure("POST", "/consumers", "username=temp")
	short := nd.configure("POST", "/consumers/temp/key-auth", "key=short-lived", "ttl=2")
	if ttl, _ := short["ttl"].(float64); ttl != 2 {
		t.Errorf("created ttl = %v, want 2", short["ttl"])
	}
	nd.configure("POST", "/consumers/temp/key-auth", "key=forever")
	for _, key := range []string{"short-lived", "forever"} {
		if r := nd.request("GET", "/ttl", map[string]string{"apikey": key}, nil); r.status != http.StatusOK {
			t.Fatalf("%s before expiry: %d %s", key, r.status, r.body)
		}
	}
	time.Sleep(2600 * time.Millisecond)
	if r := nd.request("GET", "/ttl", map[string]string{"apikey": "short-lived"}, nil); r.status != http.StatusUnauthorized {
		t.Errorf("expired key: %d %s, want 401", r.status, r.body)
	}
	if r := nd.request("GET", "/ttl", map[string]string{"apikey": "forever"}, nil); r.status != http.StatusOK {
		t.Errorf("key without ttl: %d %s", r.status, r.body)
	}
	list := nd.configureGet("/consumers/temp/key-auth")
	data, _ := list["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["key"] != "forever" {
		t.Errorf("credentials after expiry = %v, want only 'forever'", data)
	}
}
