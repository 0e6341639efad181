package sdktutorial

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	doc := "intro\n```sh\necho untagged\n```\n```sh tutorial\necho a\ncd x\n```\n" +
		"```go tutorial:main.go\npackage main\n```\n```text tutorial:expect\nok\n```\n```sh tutorial:start\nrun it\n```\n"
	blocks, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{{Kind: "run", Text: "echo a\ncd x\n", Line: 6}, {Kind: "file", File: "main.go", Text: "package main\n", Line: 10},
		{Kind: "expect", Text: "ok\n", Line: 13}, {Kind: "start", Text: "run it\n", Line: 16}}
	if len(blocks) != len(want) {
		t.Fatalf("blocks %+v", blocks)
	}
	for i := range want {
		if blocks[i] != want[i] {
			t.Errorf("block %d: %+v, want %+v", i, blocks[i], want[i])
		}
	}
	for _, bad := range []string{"```sh tutorial\necho\n", "```go tutorial:../x.go\n```\n", "```go tutorial:a/b.go\n```\n"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

// FuzzParse: any Markdown parses into blocks or an error, never a panic,
// and a file block never names a path outside the current folder.
func FuzzParse(f *testing.F) {
	f.Add("```sh tutorial\necho\n```\n")
	f.Add("```go tutorial:main.go\nx\n```\n```text tutorial:expect\n```")
	f.Fuzz(func(t *testing.T, doc string) {
		blocks, err := Parse(doc)
		if err != nil {
			return
		}
		for _, b := range blocks {
			if b.Kind == "file" && (b.File == "" || strings.ContainsAny(b.File, "/\\") || b.File == ".." || b.File == ".") {
				t.Fatalf("file block %q", b.File)
			}
		}
	})
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestTutorial runs sdk/README.md's tutorial from an empty folder: build
// the gateway, create the plugin's module (the SDK through a replace
// directive to this checkout, no network), write main.go, build the Wasm
// module, write gatehouse.conf, start the node, configure the plugin
// through the Admin API and call the proxy, checking each expected
// output. The only changes to the README's text: the ports 8000 and 8001
// become free ones, and GATEHOUSE is this checkout.
func TestTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gateway and a Wasm module: not in -short")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the tutorial needs %s: %v", tool, err)
		}
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repo, "sdk", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := Parse(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, b := range blocks {
		count[b.Kind]++
	}
	if count["start"] != 1 || count["file"] < 2 || count["expect"] < 3 || count["run"] < 4 {
		t.Fatalf("the README's tutorial lost tagged blocks: %v", count)
	}
	proxyPort, adminPort := freePort(t), freePort(t)
	ports := strings.NewReplacer("127.0.0.1:8000", "127.0.0.1:"+proxyPort, "127.0.0.1:8001", "127.0.0.1:"+adminPort)

	dir := t.TempDir()
	pwdFile := filepath.Join(t.TempDir(), "pwd")
	env := append(os.Environ(), "GATEHOUSE="+repo, "TUTORIAL_PWD="+pwdFile,
		"GOFLAGS=", "GOWORK=off", "GOPROXY=off", "GOTOOLCHAIN=local",
		// Kong Manager's default ports (8002, 8445) stay free for other tests.
		"GATEHOUSE_ADMIN_GUI_LISTEN=off")
	start := time.Now()
	var output strings.Builder
	for _, b := range blocks {
		text := ports.Replace(b.Text)
		switch b.Kind {
		case "file":
			if err := os.WriteFile(filepath.Join(dir, b.File), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		case "run":
			cmd := exec.Command("bash", "-e", "-c", text+"\npwd > \"$TUTORIAL_PWD\"\n")
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			t.Logf("README line %d:\n%s%s", b.Line, text, out)
			if err != nil {
				t.Fatalf("README line %d: %v\n%s", b.Line, err, out)
			}
			output.Write(out)
			pwd, err := os.ReadFile(pwdFile)
			if err != nil {
				t.Fatal(err)
			}
			dir = strings.TrimSpace(string(pwd))
		case "start":
			startNode(t, dir, env, text, adminPort)
		case "expect":
			got := output.String()
			for _, want := range strings.Split(strings.TrimSpace(text), "\n") {
				if want = strings.TrimSpace(want); want != "" && !strings.Contains(got, want) {
					t.Errorf("README line %d: the output does not contain %q:\n%s", b.Line, want, got)
				}
			}
			output.Reset()
		}
	}
	t.Logf("the tutorial took %s", time.Since(start).Round(time.Second))
}

// startNode runs the start block in the background (its process group is
// stopped when the test ends) and waits until the Admin API answers.
func startNode(t *testing.T, dir string, env []string, text, adminPort string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command("bash", "-e", "-c", "exec "+strings.TrimSpace(text))
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("node output:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+adminPort+"/status", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("the node exited: %v\n%s", waitErr, logs.String())
		case <-ctx.Done():
			t.Fatalf("the node's Admin API never answered\n%s", logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
