package proxy_test

import (
	"net/http"
	"testing"
	"time"
)

// TestTrainingProxy walks the proxy part of the IAM training
// (shared/seeds/001) end to end against a real upstream on loopback:
// service and route, request-transformer adding the Authorization header,
// consumers, basic-auth with an anonymous consumer, and the anonymous
// consumer rate limited to 2 requests per minute.
func TestTrainingProxy(t *testing.T) {
	iris := startUpstream(t, "iris", nil)
	nd := startNode(t, nil)

	// 4. First service and route. The training's `/persons/*` is a plain
	// prefix in Kong 3 (regex paths start with ~), so it does not match
	// /persons/all there either; we use the prefix the training means.
	nd.configure("POST", "/services/", "name=crud", "url=http://"+iris.addr+"/crud/")
	nd.configure("POST", "/services/crud/routes", "name=crud-route", "paths=/persons", "strip_path=false")
	r := nd.request("GET", "/persons/all", map[string]string{"Authorization": "Basic U3VwZXJVc2VyOlNZUw=="}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("proxied request: %d %s", r.status, r.body)
	}
	e := r.echo(t)
	if e.Path != "/crud/persons/all" || e.header("Authorization") != "Basic U3VwZXJVc2VyOlNZUw==" {
		t.Fatalf("upstream saw %s with Authorization %q", e.Path, e.header("Authorization"))
	}
	if r.header.Get("Via") == "" || r.header.Get("X-Kong-Upstream-Latency") == "" || r.header.Get("X-Kong-Proxy-Latency") == "" {
		t.Errorf("missing Kong headers: %v", r.header)
	}
	if nd.request("GET", "/persons/*", nil, nil).status != http.StatusOK {
		t.Error("literal /persons/* prefix did not match")
	}

	// 5. request-transformer authenticates Gatehouse to the upstream.
	nd.configure("POST", "/services/crud/plugins", "name=request-transformer",
		"config.add.headers=Authorization:Basic U3VwZXJVc2VyOlNZUw==",
		"config.replace.headers=Authorization:Basic U3VwZXJVc2VyOlNZUw==")
	if got := nd.request("GET", "/persons/all", nil, nil).echo(t).header("Authorization"); got != "Basic U3VwZXJVc2VyOlNZUw==" {
		t.Fatalf("added Authorization = %q", got)
	}

	// 6. Our own authentication: basic-auth with an anonymous consumer.
	anon := nd.configure("POST", "/consumers/", "username=anonymous", "custom_id=anonymous")
	user := nd.configure("POST", "/consumers/", "username=user", "custom_id=user")
	nd.configure("POST", "/routes/crud-route/plugins", "name=basic-auth",
		"config.anonymous="+anon["id"].(string), "config.hide_credentials=false")
	nd.configure("POST", "/consumers/user/basic-auth", "username=user", "password=user")

	asUser := nd.request("GET", "/persons/all", map[string]string{"Authorization": "Basic dXNlcjp1c2Vy"}, nil)
	if asUser.status != http.StatusOK {
		t.Fatalf("as user: %d %s", asUser.status, asUser.body)
	}
	ue := asUser.echo(t)
	if ue.header("X-Consumer-Username") != "user" || ue.header("X-Consumer-ID") != user["id"] || ue.header("X-Anonymous-Consumer") != "" {
		t.Errorf("user headers: %v", ue.Headers)
	}
	// request-transformer replaced the client's credentials for the upstream.
	if ue.header("Authorization") != "Basic U3VwZXJVc2VyOlNZUw==" {
		t.Errorf("upstream Authorization = %q", ue.header("Authorization"))
	}
	wrong := nd.request("GET", "/persons/all", map[string]string{"Authorization": "Basic dXNlcjp3cm9uZw=="}, nil)
	if wrong.status != http.StatusOK || wrong.echo(t).header("X-Anonymous-Consumer") != "true" {
		t.Errorf("bad password should fall back to anonymous: %d %s", wrong.status, wrong.body)
	}

	// 7. Rate-limit the anonymous consumer to 2 calls per minute. Windows
	// are calendar minutes, as in Kong: keep the three calls in one.
	if sec := time.Now().UTC().Second(); sec >= 57 {
		time.Sleep(time.Duration(61-sec) * time.Second)
	}
	nd.configure("POST", "/consumers/anonymous/plugins", "name=rate-limiting", "config.limit_by=consumer", "config.minute=2")
	for i := 1; i <= 2; i++ {
		r := nd.request("GET", "/persons/all", nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("anonymous call %d: %d %s", i, r.status, r.body)
		}
		if r.header.Get("X-RateLimit-Limit-Minute") != "2" {
			t.Errorf("call %d: X-RateLimit-Limit-Minute = %q", i, r.header.Get("X-RateLimit-Limit-Minute"))
		}
	}
	limited := nd.request("GET", "/persons/all", nil, nil)
	if limited.status != http.StatusTooManyRequests || limited.json["message"] != "API rate limit exceeded" {
		t.Fatalf("third anonymous call: %d %s", limited.status, limited.body)
	}
	if limited.header.Get("Retry-After") == "" || limited.header.Get("X-RateLimit-Remaining-Minute") != "0" {
		t.Errorf("429 headers: %v", limited.header)
	}
	// The authenticated user is not limited.
	for i := 0; i < 3; i++ {
		if r := nd.request("GET", "/persons/all", map[string]string{"Authorization": "Basic dXNlcjp1c2Vy"}, nil); r.status != http.StatusOK {
			t.Fatalf("user call %d: %d", i, r.status)
		}
	}
}
