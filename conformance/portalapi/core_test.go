package portalapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// The IRIS instance of the training: its CRUD application's credentials
// (SuperUser:SYS) and the authorizations the walk sends.
const (
	irisAuth = "Basic U3VwZXJVc2VyOlNZUw=="
	userAuth = "Basic dXNlcjp1c2Vy" // user:user, §6.4's basic-auth credential
	// authorAnonymous is the anonymous consumer's id in the training
	// author's instance, which §6.2's call names.
	authorAnonymous = "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"
)

// iris stands in for IRIS's /crud application (iris:52773 in the
// training): GET /crud/persons/all answers the persons with SuperUser's
// Basic credentials, 401 otherwise, and records what reached it.
type iris struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newIRIS(t *testing.T) *iris {
	i := &iris{}
	i.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		i.seen = append(i.seen, r.Clone(r.Context()))
		i.mu.Unlock()
		if r.Header.Get("Authorization") != irisAuth {
			rw.Header().Set("WWW-Authenticate", `Basic realm="IRIS"`)
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != "/crud/persons/all" {
			rw.WriteHeader(http.StatusNotFound)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode([]map[string]any{{"Name": "Doe,John", "Title": "Engineer", "Company": "InterSystems"}})
	}))
	t.Cleanup(i.srv.Close)
	return i
}

// last is the last request that reached IRIS, nil if none has.
func (i *iris) last() *http.Request {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.seen) == 0 {
		return nil
	}
	return i.seen[len(i.seen)-1]
}

// count is the number of requests that reached IRIS.
func (i *iris) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.seen)
}

// coreWalk runs the training's §4–§7 and §10.3 on one database.
type coreWalk struct {
	*walk
	iris *iris
}

// persons checks a proxied or direct answer is IRIS's persons list.
func (w *coreWalk) persons(what string, a answer) {
	w.t.Helper()
	if a.status != http.StatusOK {
		w.t.Fatalf("%s: status %d, want 200: %s", what, a.status, a.body)
	}
	var l []map[string]any
	if err := json.Unmarshal(a.body, &l); err != nil || len(l) != 1 || l[0]["Name"] != "Doe,John" {
		w.t.Fatalf("%s: body %s is not IRIS's persons (%v)", what, a.body, err)
	}
}

// proxied runs a proxy command expecting IRIS's persons, and checks what
// IRIS received: the training's path, the Authorization the gateway
// sends, and the consumer it identified.
func (w *coreWalk) proxied(name, wantAuth, wantConsumer string) {
	w.t.Helper()
	before := w.iris.count()
	w.persons(name, w.run(name))
	r := w.iris.last()
	if w.iris.count() != before+1 || r.URL.Path != "/crud/persons/all" || r.Header.Get("Authorization") != wantAuth ||
		r.Header.Get("X-Consumer-Username") != wantConsumer {
		w.t.Fatalf("%s: IRIS got %d requests, the last %s with Authorization %q, consumer %q; want /crud/persons/all, %q, %q",
			name, w.iris.count()-before, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Consumer-Username"), wantAuth, wantConsumer)
	}
}

func (w *coreWalk) all() {
	t := w.t
	w.start(nil)
	// The node reaches iris:52773 as Kong would when `iris` names an
	// upstream (the service's host is then the upstream's name, not a DNS
	// name): an upstream iris whose target is the stand-in. Gatehouse has
	// no dns_hostsfile setting to map the name otherwise.
	w.want("upstream iris", w.do("POST", "/upstreams", "", map[string]any{"name": "iris"}), 201)
	target := strings.TrimPrefix(w.iris.srv.URL, "http://")
	w.want("iris target", w.do("POST", "/upstreams/iris/targets", "", map[string]any{"target": target}), 201)
	// localhost:52773 (the training's direct calls to IRIS) is the stand-in.
	w.hosts["localhost:52773"] = target

	// §4.1
	svc := w.want("create-service", w.run("create-service"), 201)
	if svc["name"] != "crud" || svc["host"] != "iris" || svc["port"] != 52773.0 || svc["path"] != "/crud/" || svc["protocol"] != "http" {
		t.Fatalf("create-service: %v", svc)
	}
	// §4.2: the route is stored as written.
	route := w.want("create-route", w.run("create-route"), 201)
	if p, _ := route["paths"].([]any); len(p) != 1 || p[0] != "/persons/*" || route["strip_path"] != false ||
		route["service"].(map[string]any)["id"] != svc["id"] {
		t.Fatalf("create-route: %v", route)
	}
	// §4.3: IRIS answers the legacy call directly.
	before := w.iris.count()
	w.persons("legacy-auth", w.run("legacy-auth"))
	if w.iris.count() != before+1 {
		t.Fatalf("legacy-auth did not reach IRIS")
	}
	// The proxy call as written: `/persons/*` was a regex in Kong 2; Kong 3
	// reads a path without `~` as a plain prefix, which /persons/all does
	// not start with: Kong's 404.
	if m := w.want("proxy-auth as written", w.run("proxy-auth"), 404); m["message"] != "no Route matched with those values" {
		t.Fatalf("proxy-auth: %v", m)
	}
	// Kong 3's migration from 2.x marks such a path as a regex (`~`):
	// with it, the call reaches IRIS with the caller's Authorization.
	w.want("route path ~/persons/*", w.do("PATCH", "/routes/crud-route", "", map[string]any{"paths": []string{"~/persons/*"}}), 200)
	w.eventually("proxy-auth", func() answer { return w.run("proxy-auth") }, 200)
	w.proxied("proxy-auth", irisAuth, "")

	// §5.1
	rt := w.want("request-transformer", w.run("request-transformer"), 201)
	cfg := rt["config"].(map[string]any)
	if rt["name"] != "request-transformer" || rt["service"].(map[string]any)["id"] != svc["id"] ||
		!sameStrings(cfg["add"].(map[string]any)["headers"], irisHeader) || !sameStrings(cfg["replace"].(map[string]any)["headers"], irisHeader) {
		t.Fatalf("request-transformer: %v", rt)
	}
	// §5.2: IRIS refuses the call without credentials; through the
	// gateway, which adds them, it answers.
	if a := w.run("legacy-no-auth"); a.status != 401 {
		t.Fatalf("legacy-no-auth: %d %s", a.status, a.body)
	}
	w.eventually("proxy-no-auth", func() answer { return w.run("proxy-no-auth") }, 200)
	w.proxied("proxy-no-auth", irisAuth, "")

	// §6.1
	anon := w.want("consumer-anonymous", w.run("consumer-anonymous"), 201)
	if anon["username"] != "anonymous" || anon["custom_id"] != "anonymous" {
		t.Fatalf("consumer-anonymous: %v", anon)
	}
	user := w.want("consumer-user", w.run("consumer-user"), 201)
	if user["username"] != "user" || user["custom_id"] != "user" {
		t.Fatalf("consumer-user: %v", user)
	}
	// §6.2 names the author's anonymous consumer, which this instance
	// does not have ("config.anonymous = uuid of anonymous consumer").
	ba := w.want("basic-auth", w.run("basic-auth"), 201)
	cfg = ba["config"].(map[string]any)
	if ba["name"] != "basic-auth" || cfg["anonymous"] != authorAnonymous || cfg["hide_credentials"] != false ||
		ba["route"].(map[string]any)["id"] != route["id"] {
		t.Fatalf("basic-auth: %v", ba)
	}
	// A request without credentials then fails as Kong 3.0–3.9's does:
	// the anonymous consumer is configured but does not exist, 500 with
	// the generic message (Kong 3.10 names the consumer in the message).
	m := w.eventually("proxy-no-auth, unknown anonymous", func() answer { return w.run("proxy-no-auth") }, 500).json(t)
	if m["message"] != "An unexpected error occurred" {
		t.Fatalf("proxy-no-auth, unknown anonymous: %v", m)
	}
	// With this instance's anonymous consumer, as the training means it.
	w.want("basic-auth anonymous", w.do("PATCH", "/plugins/"+ba["id"].(string), "", map[string]any{
		"config": map[string]any{"anonymous": anon["id"]}}), 200)
	w.eventually("proxy-no-auth as anonymous", func() answer { return w.run("proxy-no-auth") }, 200)
	w.proxied("proxy-no-auth", irisAuth, "anonymous")

	// §6.3 as written sets acl's `whitelist`, which Kong 3 no longer has.
	v := w.want("acl as written", w.run("acl"), 400)
	if f, _ := v["fields"].(map[string]any); v["name"] != "schema violation" || f["config"].(map[string]any)["whitelist"] == nil {
		t.Fatalf("acl: %v", v)
	}
	// Kong 3's `allow` is the same call.
	acl := w.want("acl with allow", w.curl(strings.Replace(w.cmds["acl"], "config.whitelist=", "config.allow=", 1)), 201)
	if !sameStrings(acl["config"].(map[string]any)["allow"], []string{"user"}) {
		t.Fatalf("acl: %v", acl)
	}
	// Now the anonymous consumer is in no group and has no credential:
	// Kong's acl answers 401 (403 is for a credential's consumer).
	if m = w.eventually("proxy-no-auth, no group", func() answer { return w.run("proxy-no-auth") }, 401).json(t); m["message"] != "Unauthorized" {
		t.Fatalf("proxy-no-auth: %v", m)
	}

	// §6.4
	g := w.want("user-acl", w.run("user-acl"), 201)
	if g["group"] != "user" || g["consumer"].(map[string]any)["id"] != user["id"] {
		t.Fatalf("user-acl: %v", g)
	}
	cred := w.want("user-credentials", w.run("user-credentials"), 201)
	if cred["username"] != "user" || cred["password"] == "user" || cred["consumer"].(map[string]any)["id"] != user["id"] {
		t.Fatalf("user-credentials: %v", cred)
	}
	// §6.5: IRIS does not know user:user; the gateway authenticates it
	// and sends IRIS's own credentials (request-transformer's replace).
	if a := w.run("legacy-user"); a.status != 401 {
		t.Fatalf("legacy-user: %d %s", a.status, a.body)
	}
	w.eventually("proxy-user", func() answer { return w.run("proxy-user") }, 200)
	w.proxied("proxy-user", irisAuth, "user")
	// A wrong password is refused, not taken for the anonymous consumer.
	wrong := w.curl(strings.Replace(w.cmds["proxy-user"], "dXNlcjp1c2Vy", "dXNlcjp3cm9uZw==", 1))
	if wrong.status != 401 {
		t.Fatalf("proxy-user with a wrong password: %d %s", wrong.status, wrong.body)
	}

	// §7.1
	g = w.want("anonymous-acl", w.run("anonymous-acl"), 201)
	if g["group"] != "user" || g["consumer"].(map[string]any)["id"] != anon["id"] {
		t.Fatalf("anonymous-acl: %v", g)
	}
	rl := w.want("anonymous-rate-limit", w.run("anonymous-rate-limit"), 201)
	cfg = rl["config"].(map[string]any)
	if rl["name"] != "rate-limiting" || rl["consumer"].(map[string]any)["id"] != anon["id"] ||
		cfg["minute"] != 2.0 || cfg["limit_by"] != "consumer" {
		t.Fatalf("anonymous-rate-limit: %v", rl)
	}
	// The exercise's aim: unauthenticated callers get 2 calls a minute.
	// Once the plugin is live, a 429 comes within 2 calls of a minute (a
	// minute boundary may fall between them: at most 4 successes).
	w.eventually("proxy-no-auth limited", func() answer {
		a := w.run("proxy-no-auth")
		if a.status == 200 {
			a.status = 0 // keep calling: the limit counts these
		}
		return a
	}, 429)
	limited := 0
	for range 5 {
		a := w.run("proxy-no-auth")
		if a.status == 429 {
			limited++
			if m := a.json(t); m["message"] != "API rate limit exceeded" {
				t.Fatalf("proxy-no-auth limited: %v", m)
			}
		} else if a.status != 200 {
			t.Fatalf("proxy-no-auth: %d %s", a.status, a.body)
		}
	}
	if limited < 1 {
		t.Fatalf("proxy-no-auth: no 429 in 5 calls with a limit of 2 a minute")
	}
	// The user is not limited.
	for range 3 {
		w.proxied("proxy-user", irisAuth, "user")
	}

	// §10.3 on this instance: RBAC on, the routes need the token.
	w.stop()
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", adminToken)
	w.start(map[string]string{"enforce_rbac": "on"})
	if m := w.want("routes-without-token", w.run("routes-without-token"), 401); m["message"] != "Invalid credentials. Token or User credentials required" {
		t.Fatalf("routes-without-token: %v", m)
	}
	l := w.want("routes-with-token", w.run("routes-with-token"), 200)
	if data, _ := l["data"].([]any); len(data) != 1 || data[0].(map[string]any)["name"] != "crud-route" {
		t.Fatalf("routes-with-token: %v", l)
	}
	// The proxy needs no admin token: the user still reaches IRIS.
	w.eventually("proxy-user after restart", func() answer { return w.run("proxy-user") }, 200)
	w.proxied("proxy-user", irisAuth, "user")
}

// irisHeader is §5.1's header value, as the plugin stores it.
var irisHeader = []string{"Authorization:" + irisAuth}

// sameStrings reports whether a decoded JSON array holds exactly want.
func sameStrings(v any, want []string) bool {
	l, _ := v.([]any)
	if len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

func newCoreWalk(t *testing.T, settings map[string]string) *coreWalk {
	w := newWalk(t, settings)
	w.load("testdata/training-core.txt")
	return &coreWalk{walk: w, iris: newIRIS(t)}
}

// TestTrainingCoreSQLite walks the training's §4–§7 and §10.3 calls with
// curl on SQLite.
func TestTrainingCoreSQLite(t *testing.T) {
	needCurl(t)
	newCoreWalk(t, map[string]string{"prefix": t.TempDir()}).all()
}

// TestTrainingCorePostgres walks them on Postgres.
func TestTrainingCorePostgres(t *testing.T) {
	needCurl(t)
	newCoreWalk(t, testpg.Settings(t)).all()
}
