package portalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle" // the bundled plugins: acl, cors
	"github.com/gatehouse/gatehouse/store"
)

// The ids of the training author's instance, which its §9 calls name.
const (
	serviceID   = "7bcef2e6-117c-487a-aab2-c7e57a0bf61a"
	routeID     = "afefe836-b9be-49a8-927a-1324a8597a9c"
	aclPluginID = "3f2e605e-9cb6-454a-83ec-d1b1929b1d30"
	adminToken  = "SYS" // the training's Kong-Admin-Token
)

// answer is one HTTP answer: status and body.
type answer struct {
	status int
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", a.body, err)
	}
	return m
}

// walk runs the training's calls on one database: node settings give the
// database (SQLite in a prefix, or Postgres); the node restarts with RBAC
// on for §10, as the training restarts its container.
type walk struct {
	t        *testing.T
	settings map[string]string
	admin    string
	cmds     map[string]string
	// hosts maps the training's host:port to the address curl connects
	// to (--connect-to); start sets localhost:8001.
	hosts  map[string]string
	client *http.Client
	node   *app.Node
	stop   func()
}

func newWalk(t *testing.T, settings map[string]string) *walk {
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	t.Cleanup(tr.CloseIdleConnections)
	w := &walk{t: t, settings: settings, cmds: map[string]string{}, hosts: map[string]string{},
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	w.load("testdata/training.txt")
	return w
}

// load adds the commands of a testdata file; a name must be new.
func (w *walk) load(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		w.t.Fatal(err)
	}
	list, err := ParseCommands(string(data))
	if err != nil {
		w.t.Fatalf("%s: %v", file, err)
	}
	for _, c := range list {
		if _, dup := w.cmds[c.Name]; dup {
			w.t.Fatalf("%s: command %q named twice", file, c.Name)
		}
		w.cmds[c.Name] = c.Text
	}
}

// curl runs a training command with the curl binary, from testdata (for
// -F contents=@misc/spec.yml). The text is not changed: the training's
// hosts (localhost:8001 for the Admin API, and whatever w.hosts adds:
// the proxy, IRIS) are mapped with curl's own --connect-to, and only
// output options are added (-s -S, -o FILE, -w %{http_code}). A word
// starting with an en dash (the training's `curl –i`) is a URL to curl,
// as bash passes it: it gets its own -o /dev/null, and its transfer must
// fail (status 000, host not resolved) without touching any node.
func (w *walk) curl(text string) answer {
	t := w.t
	t.Helper()
	words, err := SplitWords(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	if len(words) == 0 || words[0] != "curl" {
		t.Fatalf("not a curl command: %s", text)
	}
	out := filepath.Join(t.TempDir(), "body")
	args := append([]string(nil), words[1:]...)
	dashURLs := 0
	for _, word := range words[1:] {
		if strings.HasPrefix(word, "\u2013") {
			dashURLs++
			args = append(args, "-o", os.DevNull)
		}
	}
	for from, to := range w.hosts {
		args = append(args, "--connect-to", from+":"+to)
	}
	args = append(args, "-s", "-S", "-o", out, "-w", "%{http_code}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", args...)
	cmd.Dir = "testdata"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	codes := strings.Fields(string(stdout))
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && dashURLs > 0 && len(codes) == dashURLs+1) {
		t.Fatalf("curl %q: %v: %s", args, err, stderr.String())
	}
	if len(codes) != dashURLs+1 {
		t.Fatalf("curl %q: %d transfers (%q), want %d: %s", args, len(codes), stdout, dashURLs+1, stderr.String())
	}
	for _, c := range codes[:dashURLs] {
		if c != "000" {
			t.Fatalf("curl %q: the en-dash word was answered (%s), want no transfer: %s", args, c, stderr.String())
		}
	}
	body, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// -i writes the header blocks (a 100 Continue's too) before the body.
	for bytes.HasPrefix(body, []byte("HTTP/")) {
		_, rest, ok := bytes.Cut(body, []byte("\r\n\r\n"))
		if !ok {
			break
		}
		body = rest
	}
	var status int
	if _, err := fmt.Sscan(codes[dashURLs], &status); err != nil {
		t.Fatalf("curl status %q: %v", codes[dashURLs], err)
	}
	return answer{status: status, body: body}
}

// run runs the named training command.
func (w *walk) run(name string) answer {
	w.t.Helper()
	text, ok := w.cmds[name]
	if !ok {
		w.t.Fatalf("no command %q in the testdata files", name)
	}
	return w.curl(text)
}

// do sends a call the training makes by hand (GUI, portal) or that sets
// the author's instance up, to the Admin API; body is JSON.
func (w *walk) do(method, path, token string, body any) answer {
	w.t.Helper()
	var header map[string]string
	if token != "" {
		header = map[string]string{"Kong-Admin-Token": token}
	}
	return w.send(w.client, method, w.admin+path, body, header)
}

// send sends a request with client c; body is JSON unless a string (a form).
func (w *walk) send(c *http.Client, method, url string, body any, header map[string]string) answer {
	t := w.t
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: res.StatusCode, body: b}
}

func (w *walk) want(what string, a answer, status int) map[string]any {
	w.t.Helper()
	if a.status != status {
		w.t.Fatalf("%s: status %d, want %d: %s", what, a.status, status, a.body)
	}
	if len(a.body) == 0 {
		return nil
	}
	return a.json(w.t)
}

// eventually repeats call until it answers status, for 15 seconds: the
// proxy sees an Admin API change once the node's snapshot is rebuilt and
// its caches invalidated.
func (w *walk) eventually(what string, call func() answer, status int) answer {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		a := call()
		if a.status == status {
			return a
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: status %d, want %d: %s", what, a.status, status, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// attach points the walk at node n: its Admin API for do, and the
// training's localhost:8001 (and localhost:8000 when n has a plain proxy
// listener, localhost:8443 when it has a TLS one) for curl.
func (w *walk) attach(n *app.Node) {
	w.admin = "http://" + n.Addr("admin")
	w.hosts["localhost:8001"] = n.Addr("admin")
	for listener, host := range map[string]string{"proxy": "localhost:8000", "proxy_ssl": "localhost:8443"} {
		if a := n.Addr(listener); a != "" {
			w.hosts[host] = a
		}
	}
	w.node = n
}

func (w *walk) start(extra map[string]string) {
	settings := map[string]string{}
	for k, v := range w.settings {
		settings[k] = v
	}
	for k, v := range extra {
		settings[k] = v
	}
	n := testnode.Start(w.t, settings)
	w.attach(n)
	w.stop = func() { n.Close() }
}

// run the walk: §8–§9 on a node without RBAC, §10.3 after a restart with
// RBAC on.
func (w *walk) all() {
	t := w.t
	w.start(nil)

	// The author's instance: service crud, route crud-route (§4) and the
	// acl plugin of §6.3 (Kong 3's `allow` for 2.x's whitelist), with the
	// ids the §9 calls name.
	w.want("service", w.do("POST", "/services", "", map[string]any{"id": serviceID, "name": "crud", "url": "http://iris:52773/crud/"}), 201)
	w.want("route", w.do("POST", "/services/crud/routes", "", map[string]any{"id": routeID, "name": "crud-route",
		"paths": []string{"/persons/*"}, "strip_path": false}), 201)
	w.want("acl", w.do("POST", "/routes/crud-route/plugins", "", map[string]any{"id": aclPluginID, "name": "acl",
		"config": map[string]any{"allow": []string{"user"}}}), 201)

	// §8.2
	ws := w.want("enable-portal", w.run("enable-portal"), 200)
	if cfg, _ := ws["config"].(map[string]any); cfg["portal"] != true || ws["name"] != "default" {
		t.Fatalf("enable-portal: %v", ws)
	}
	// §8.3
	spec, err := os.ReadFile("testdata/misc/spec.yml")
	if err != nil {
		t.Fatal(err)
	}
	file := w.want("add-spec", w.run("add-spec"), 201)
	if file["path"] != "specs/iam-training.yml" || file["contents"] != string(spec) || len(file["checksum"].(string)) != 64 {
		t.Fatalf("add-spec: %v", file)
	}
	// §8.5.1
	cors := w.want("cors", w.run("cors"), 201)
	if cors["name"] != "cors" || cors["route"].(map[string]any)["id"] != routeID {
		t.Fatalf("cors: %v", cors)
	}
	// §9.2.1
	role := w.want("create-role", w.run("create-role"), 201)
	if role["name"] != "dev" {
		t.Fatalf("create-role: %v", role)
	}
	// §9.2.2
	patched := w.want("spec-readable-by", w.run("spec-readable-by"), 200)
	hm, err := store.ParseHeadmatter(patched["path"].(string), patched["contents"].(string))
	if err != nil || len(hm.ReadableBy) != 1 || hm.ReadableBy[0] != "dev" || patched["checksum"] == file["checksum"] {
		t.Fatalf("spec-readable-by: %v (%v, %v)", patched, hm.ReadableBy, err)
	}
	got := w.want("spec read back", w.do("GET", "/default/files/specs/iam-training.yml", "", nil), 200)
	if got["contents"] != patched["contents"] {
		t.Fatalf("spec read back: %v", got)
	}

	// §9.2.3: the developer registers on the portal and is approved in
	// Kong Manager (videos in the training): the Admin API calls behind
	// them.
	dev := w.want("register", w.do("POST", "/default/developers", "", map[string]any{
		"email": "dev@example.test", "password": "dev-password", "meta": `{"full_name":"Dev Eloper"}`}), 201)
	if dev["status"] != 1.0 || dev["password"] != nil {
		t.Fatalf("register: %v", dev)
	}
	devID := dev["id"].(string)
	if d := w.want("approve", w.do("PATCH", "/default/developers/"+devID, "", map[string]any{"status": 0}), 200)["developer"].(map[string]any); d["status"] != 0.0 {
		t.Fatalf("approve: %v", d)
	}
	// The training's role call as written names no developer: Kong
	// answers a PATCH on the collection with 405.
	if m := w.want("developer-roles as written", w.run("developer-roles"), 405); m["message"] != "Method not allowed" {
		t.Fatalf("developer-roles: %v", m)
	}
	// The same call on the developer (as Kong Manager sends it) grants dev.
	d := w.want("developer-roles on the developer",
		w.curl(strings.Replace(w.cmds["developer-roles"], "/default/developers/'", "/default/developers/"+devID+"'", 1)), 200)["developer"].(map[string]any)
	if roles, _ := d["roles"].([]any); len(roles) != 1 || roles[0] != "dev" {
		t.Fatalf("developer-roles: %v", d)
	}

	// §9.3.1 as written sets acl's `whitelist`, which Kong 3 no longer
	// has: 400, schema violation on config.whitelist.
	v := w.want("disable-acl as written", w.run("disable-acl"), 400)
	if f, _ := v["fields"].(map[string]any); v["name"] != "schema violation" || f["config"].(map[string]any)["whitelist"] == nil {
		t.Fatalf("disable-acl: %v", v)
	}
	// With Kong 3's `allow`, the call disables the plugin.
	p := w.want("disable-acl with allow", w.curl(strings.Replace(w.cmds["disable-acl"], `"whitelist"`, `"allow"`, 1)), 200)
	if p["enabled"] != false {
		t.Fatalf("disable-acl: %v", p)
	}
	// §9.3.3
	doc := w.want("document-object", w.run("document-object"), 201)
	if doc["path"] != "specs/iam-training.yml" || doc["service"].(map[string]any)["id"] != serviceID {
		t.Fatalf("document-object: %v", doc)
	}
	if l := w.want("service docs", w.do("GET", "/default/services/crud/document_objects", "", nil), 200); len(l["data"].([]any)) != 1 {
		t.Fatalf("service docs: %v", l)
	}

	// §10: restart with RBAC, the bootstrap admin's token SYS.
	w.stop()
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", adminToken)
	w.start(map[string]string{"enforce_rbac": "on"})
	if m := w.want("routes-without-token", w.run("routes-without-token"), 401); m["message"] != "Invalid credentials. Token or User credentials required" {
		t.Fatalf("routes-without-token: %v", m)
	}
	l := w.want("routes-with-token", w.run("routes-with-token"), 200)
	if data, _ := l["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != routeID {
		t.Fatalf("routes-with-token: %v", l)
	}
	// The /default prefix is the same call to RBAC.
	w.want("/default/routes without token", w.do("GET", "/default/routes", "", nil), 401)
	w.want("/default/routes with token", w.do("GET", "/default/routes", adminToken, nil), 200)
	// What §8–§9 stored survived the restart.
	ws = w.want("workspace after restart", w.do("GET", "/default/workspaces/default", adminToken, nil), 200)
	if ws["config"].(map[string]any)["portal"] != true {
		t.Fatalf("workspace after restart: %v", ws)
	}
	d = w.want("developer after restart", w.do("GET", "/default/developers/dev@example.test", adminToken, nil), 200)
	if d["status"] != 0.0 || d["password"] != nil || len(d["roles"].([]any)) != 1 {
		t.Fatalf("developer after restart: %v", d)
	}
	// A read-only admin reads the portal entities and changes none.
	w.want("read-only admin", w.do("POST", "/rbac/users", adminToken, map[string]any{"name": "viewer", "user_token": "viewer-token"}), 201)
	w.want("read-only role", w.do("POST", "/rbac/users/viewer/roles", adminToken, map[string]any{"roles": "read-only"}), 201)
	w.want("viewer reads files", w.do("GET", "/default/files", "viewer-token", nil), 200)
	w.want("viewer reads developers", w.do("GET", "/default/developers", "viewer-token", nil), 200)
	w.want("viewer patches the workspace", w.do("PATCH", "/default/workspaces/default", "viewer-token", map[string]any{"config": map[string]any{"portal": false}}), 403)
	w.want("viewer approves", w.do("PATCH", "/default/developers/dev@example.test", "viewer-token", map[string]any{"status": 3}), 403)
	w.want("viewer deletes a spec", w.do("DELETE", "/default/files/specs/iam-training.yml", "viewer-token", nil), 403)
	w.want("viewer adds a document object", w.do("POST", "/default/document_objects", "viewer-token",
		map[string]any{"service": map[string]any{"id": serviceID}, "path": "specs/x.yml"}), 403)
	// A role whose endpoint permissions name the workspace grants exactly
	// them under /default: the portal editor writes specs, reads no
	// developer, changes no workspace.
	w.want("editor role", w.do("POST", "/rbac/roles", adminToken, map[string]any{"name": "portal-editor"}), 201)
	for _, ep := range []map[string]any{
		{"endpoint": "/files", "actions": "read,create", "workspace": "default"},
		{"endpoint": "/files/*/*", "actions": "read,update", "workspace": "default"},
	} {
		w.want("editor endpoint "+ep["endpoint"].(string), w.do("POST", "/rbac/roles/portal-editor/endpoints", adminToken, ep), 201)
	}
	w.want("editor", w.do("POST", "/rbac/users", adminToken, map[string]any{"name": "editor", "user_token": "editor-token"}), 201)
	w.want("editor's role", w.do("POST", "/rbac/users/editor/roles", adminToken, map[string]any{"roles": "portal-editor"}), 201)
	w.want("editor adds a spec", w.do("POST", "/default/files", "editor-token", map[string]any{"path": "specs/orders.yml", "contents": "openapi: 3.0.0\n"}), 201)
	w.want("editor changes it", w.do("PATCH", "/default/files/specs/orders.yml", "editor-token", map[string]any{"contents": "openapi: 3.0.1\n"}), 200)
	w.want("editor deletes it", w.do("DELETE", "/default/files/specs/orders.yml", "editor-token", nil), 403)
	w.want("editor reads developers", w.do("GET", "/default/developers", "editor-token", nil), 403)
	w.want("editor patches the workspace", w.do("PATCH", "/workspaces/default", "editor-token", map[string]any{"config": map[string]any{"portal": false}}), 403)
	// Another workspace is Kong's 404, even for the super admin.
	if m := w.want("other workspace", w.do("GET", "/prod/routes", adminToken, nil), 404); m["message"] != "Not found" {
		t.Fatalf("other workspace: %v", m)
	}
	w.want("create a workspace", w.do("POST", "/workspaces", adminToken, map[string]any{"name": "prod"}), 400)
}

// needCurl makes the test fail in CI and skip elsewhere without curl.
func needCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is needed to run the training's commands")
		}
		t.Skip("no curl on PATH")
	}
}

// TestTrainingSQLite walks the training's calls on SQLite.
func TestTrainingSQLite(t *testing.T) {
	needCurl(t)
	newWalk(t, map[string]string{"prefix": t.TempDir()}).all()
}

// TestTrainingPostgres walks the training's calls on Postgres.
func TestTrainingPostgres(t *testing.T) {
	needCurl(t)
	newWalk(t, testpg.Settings(t)).all()
}
