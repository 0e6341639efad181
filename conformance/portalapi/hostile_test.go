package portalapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// send sends one request over c and returns its status and body.
func send(t *testing.T, c *http.Client, method, url, ctype, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
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
	return res.StatusCode, b
}

func keepAliveClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// TestHostileInput: bad bodies and paths get Kong's 4xx JSON answers,
// never a 5xx, and the node keeps serving on the same connections.
func TestHostileInput(t *testing.T) {
	n := testnode.Start(t, map[string]string{"prefix": t.TempDir()})
	admin := "http://" + n.Addr("admin")
	c := keepAliveClient(t)
	var bomb strings.Builder
	bomb.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				bomb.WriteString(", ")
			}
			fmt.Fprintf(&bomb, "*a%d", i-1)
		}
		bomb.WriteString("]\n")
	}
	bombJSON, _ := json.Marshal(map[string]string{"path": "specs/bomb.yml", "contents": bomb.String()})
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"alias bomb spec", "POST", "/default/files", "application/json", string(bombJSON), 400},
		{"invalid utf-8 path", "POST", "/files", "application/x-www-form-urlencoded", "path=specs/%ff.yml&contents=a:+1", 400},
		{"nul in contents", "POST", "/files", "application/json", `{"path":"specs/n.yml","contents":"a: \u0000"}`, 400},
		{"traversal", "POST", "/files", "application/json", `{"path":"specs/../../x.yml","contents":"a: 1"}`, 400},
		{"contents not a string", "POST", "/files", "application/json", `{"path":"specs/n.yml","contents":{"a":1}}`, 400},
		{"broken json", "POST", "/default/developers", "application/json", `{"email":`, 400},
		{"status an object", "POST", "/developers", "application/json", `{"email":"a@b.test","password":"p","meta":{"full_name":"A"},"status":{}}`, 400},
		{"roles a number", "POST", "/developers", "application/json", `{"email":"a@b.test","password":"p","meta":{"full_name":"A"},"roles":5}`, 400},
		{"huge meta", "POST", "/developers", "application/json", `{"email":"a@b.test","password":"p","meta":"{\"x\":\"` + strings.Repeat("y", 70000) + `\"}"}`, 400},
		{"comma role", "POST", "/developers/roles", "application/json", `{"name":"a,b"}`, 400},
		{"config not an object", "PATCH", "/workspaces/default", "application/json", `{"config":5}`, 400},
		{"escaped workspace", "GET", "/%64efault/services", "", "", 404},
		{"other workspace", "GET", "/prod/files", "", "", 404},
		{"unsupported media type", "POST", "/files", "text/plain", "path=specs/a.yml", 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, b := send(t, c, tc.method, admin+tc.path, tc.ctype, tc.body)
			if st != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, st, b, tc.status)
			}
			if tc.status != 415 && !json.Valid(b) {
				t.Fatalf("not JSON: %s", b)
			}
		})
	}
	if st, _ := send(t, c, "GET", admin+"/default/files", "", ""); st != 200 {
		t.Fatalf("after the hostile calls: %d", st)
	}
}

// TestConcurrentPortalCalls: many clients on keep-alive connections
// register, approve and read developers and files at once; every call
// answers as it would alone.
func TestConcurrentPortalCalls(t *testing.T) {
	n := testnode.Start(t, map[string]string{"prefix": t.TempDir()})
	admin := "http://" + n.Addr("admin")
	c := keepAliveClient(t)
	if st, b := send(t, c, "POST", admin+"/default/developers/roles", "application/x-www-form-urlencoded", "name=dev"); st != 201 {
		t.Fatalf("role: %d %s", st, b)
	}
	const workers, each = 6, 4
	var wg sync.WaitGroup
	errs := make(chan string, workers*each*4)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				email := fmt.Sprintf("d%d-%d@example.test", w, i)
				calls := []struct {
					method, path, ctype, body string
					status                    int
				}{
					{"POST", "/default/developers", "application/json", `{"email":"` + email + `","password":"pw","meta":{"full_name":"D"}}`, 201},
					{"PATCH", "/default/developers/" + email, "application/json", `{"status":0,"roles":["dev"]}`, 200},
					{"POST", "/default/files", "application/json", fmt.Sprintf(`{"path":"specs/%d-%d.yml","contents":"x-headmatter:\n  readable_by: [dev]\n"}`, w, i), 201},
					{"GET", "/workspaces/default", "", "", 200},
				}
				for _, cl := range calls {
					req, _ := http.NewRequest(cl.method, admin+cl.path, bytes.NewReader([]byte(cl.body)))
					if cl.ctype != "" {
						req.Header.Set("Content-Type", cl.ctype)
					}
					res, err := c.Do(req)
					if err != nil {
						errs <- err.Error()
						continue
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != cl.status {
						errs <- fmt.Sprintf("%s %s: %d %s", cl.method, cl.path, res.StatusCode, b)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st, b := send(t, c, "GET", admin+"/developers?status=0&size=1000", "", "")
	var page struct{ Data []map[string]any }
	if err := json.Unmarshal(b, &page); st != 200 || err != nil || len(page.Data) != workers*each {
		t.Fatalf("approved developers: %d, %d listed (%v)", st, len(page.Data), err)
	}
}

// TestOneDefaultWorkspaceAcrossNodes: two nodes on one Postgres database
// asked for the workspaces at once store one `default`.
func TestOneDefaultWorkspaceAcrossNodes(t *testing.T) {
	settings := testpg.Settings(t)
	a := testnode.Start(t, settings)
	b := testnode.Start(t, settings)
	c := keepAliveClient(t)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			node := a
			if i%2 == 1 {
				node = b
			}
			req, _ := http.NewRequest("GET", "http://"+node.Addr("admin")+"/default/workspaces/default", nil)
			res, err := c.Do(req)
			if err != nil {
				return
			}
			defer res.Body.Close()
			var ws map[string]any
			if json.NewDecoder(res.Body).Decode(&ws) == nil && res.StatusCode == 200 {
				ids[i], _ = ws["id"].(string)
			}
		}(i)
	}
	wg.Wait()
	for i, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("node answers differ: %q", ids[i:])
		}
	}
	st, body := send(t, c, "GET", "http://"+b.Addr("admin")+"/workspaces", "", "")
	var list struct{ Data []map[string]any }
	if err := json.Unmarshal(body, &list); st != 200 || err != nil || len(list.Data) != 1 || list.Data[0]["id"] != ids[0] {
		t.Fatalf("GET /workspaces: %d %s", st, body)
	}
}

// TestDBLess: a DB-less node shows the default workspace and refuses
// writes as it refuses every write.
func TestDBLess(t *testing.T) {
	n := testnode.Start(t, map[string]string{"database": "off"})
	admin := "http://" + n.Addr("admin")
	c := keepAliveClient(t)
	st, b := send(t, c, "GET", admin+"/default/workspaces/default", "", "")
	if st != 200 || !strings.Contains(string(b), `"name":"default"`) {
		t.Fatalf("GET: %d %s", st, b)
	}
	if st, b := send(t, c, "PATCH", admin+"/workspaces/default", "application/x-www-form-urlencoded", "config.portal=true"); st < 400 || st >= 500 {
		t.Fatalf("PATCH: %d %s", st, b)
	}
	if st, b := send(t, c, "POST", admin+"/files", "application/json", `{"path":"specs/a.yml","contents":"a: 1"}`); st < 400 || st >= 500 {
		t.Fatalf("POST /files: %d %s", st, b)
	}
}
