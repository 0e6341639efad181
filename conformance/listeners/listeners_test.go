// Package listeners_test starts real nodes with every listener Kong opens
// (proxy, Admin API, Kong Manager, Developer Portal, portal API; plain and
// TLS) on loopback ports and checks them as a client would: HTTPS with the
// certificate generated into <prefix>/ssl at first start (or the one
// configured), the right application behind each port, `off` closing a
// listener, GET / reporting them, and shutdown closing them all.
package listeners_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testcert"
	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// allOn opens every listener kind, plain and TLS, on loopback ports with
// Kong's default flags, and turns the portal on.
func allOn(prefix string) map[string]string {
	return map[string]string{
		"prefix":            prefix,
		"proxy_listen":      "127.0.0.1:0 reuseport backlog=16384, 127.0.0.1:0 http2 ssl reuseport backlog=16384",
		"admin_listen":      "127.0.0.1:0 reuseport backlog=16384, 127.0.0.1:0 http2 ssl reuseport backlog=16384",
		"admin_gui_listen":  "127.0.0.1:0, 127.0.0.1:0 ssl",
		"portal":            "on",
		"portal_gui_listen": "127.0.0.1:0, 127.0.0.1:0 ssl",
		"portal_api_listen": "127.0.0.1:0, 127.0.0.1:0 ssl",
	}
}

// start starts a node that is not closed at the test's end by testnode
// alone: stop closes it earlier (a second start on the same prefix).
func start(t *testing.T, settings map[string]string, logs io.Writer) *app.Node {
	t.Helper()
	opts := app.Options{}
	if logs != nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return testnode.StartWith(t, settings, opts)
}

// clientTrusting is an HTTPS client that trusts only pemCert, for
// "localhost", on keep-alive connections.
func clientTrusting(t *testing.T, pemCert []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCert) {
		t.Fatalf("no certificate in %q", pemCert)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// insecure is `curl --insecure`.
func insecure(t *testing.T) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

type reply struct {
	status int
	ctype  string
	body   string
	cert   *x509.Certificate
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values) reply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, u, err)
	}
	r := reply{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), body: string(b)}
	if res.TLS != nil && len(res.TLS.PeerCertificates) > 0 {
		r.cert = res.TLS.PeerCertificates[0]
	}
	return r
}

// defaultCert reads the certificate the node generated into the prefix.
func defaultCert(t *testing.T, prefix string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(prefix, "ssl", "gatehouse-default.crt"))
	if err != nil {
		t.Fatalf("the default certificate is not in <prefix>/ssl: %v", err)
	}
	return b
}

// TestOutOfTheBoxTLS is the training's `curl --insecure
// https://localhost:8443/...` and `https://localhost:8444`: with no
// certificate configured the node generates one into <prefix>/ssl at first
// start, serves it on every TLS listener, and a second start reuses it.
func TestOutOfTheBoxTLS(t *testing.T) {
	prefix := t.TempDir()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s", r.URL.Path)
	}))
	t.Cleanup(up.Close)

	n := start(t, allOn(prefix), nil)
	pemCert := defaultCert(t, prefix)
	if _, err := os.Stat(filepath.Join(prefix, "ssl", "gatehouse-default.key")); err != nil {
		t.Fatalf("no key beside the certificate: %v", err)
	}
	c := clientTrusting(t, pemCert)

	// Configure through the HTTPS Admin API, proxy through HTTPS.
	admin := "https://" + n.Addr("admin_ssl")
	if r := do(t, c, "POST", admin+"/services", url.Values{"name": {"persons"}, "url": {up.URL}}); r.status != 201 {
		t.Fatalf("POST /services over https: %d %s", r.status, r.body)
	}
	if r := do(t, c, "POST", admin+"/services/persons/routes", url.Values{"paths": {"/persons"}, "strip_path": {"false"}}); r.status != 201 {
		t.Fatalf("POST /routes over https: %d %s", r.status, r.body)
	}
	proxy := "https://" + n.Addr("proxy_ssl")
	var r reply
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = do(t, c, "GET", proxy+"/persons/all", nil)
		if r.status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the route reaches the proxy's snapshot
	}
	if r.status != 200 || r.body != "upstream saw /persons/all" {
		t.Fatalf("GET https proxy /persons/all: %d %q", r.status, r.body)
	}
	// curl --insecure works the same.
	if r := do(t, insecure(t), "GET", proxy+"/persons/all", nil); r.status != 200 {
		t.Errorf("--insecure: %d %s", r.status, r.body)
	}

	// Every TLS listener serves the generated certificate.
	block, _ := pem.Decode(pemCert)
	for _, kind := range []string{"proxy_ssl", "admin_ssl", "admin_gui_ssl", "portal_gui_ssl", "portal_api_ssl"} {
		r := do(t, c, "GET", "https://"+n.Addr(kind)+"/", nil)
		if r.cert == nil || !bytes.Equal(r.cert.Raw, block.Bytes) {
			t.Errorf("%s does not serve <prefix>/ssl/gatehouse-default.crt", kind)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// A second start on the same prefix reuses the certificate.
	n2 := start(t, allOn(prefix), nil)
	if again := defaultCert(t, prefix); !bytes.Equal(again, pemCert) {
		t.Fatal("the second start replaced the default certificate")
	}
	c2 := clientTrusting(t, pemCert) // fresh connections
	for _, kind := range []string{"proxy_ssl", "admin_ssl", "admin_gui_ssl"} {
		r := do(t, c2, "GET", "https://"+n2.Addr(kind)+"/", nil)
		if r.cert == nil || !bytes.Equal(r.cert.Raw, block.Bytes) {
			t.Errorf("second start: %s does not serve the first start's certificate", kind)
		}
	}
}

// TestEachListenerServesItsApplication checks what answers on each port:
// Kong Manager (:8002/:8445), the Developer Portal (:8003/:8446) and the
// portal API (:8004/:8447: Kong's JSON 404 `Not Found` while the
// workspace's config.portal is off), with keep-alive clients in parallel.
func TestEachListenerServesItsApplication(t *testing.T) {
	prefix := t.TempDir()
	n := start(t, allOn(prefix), nil)
	c := clientTrusting(t, defaultCert(t, prefix))
	plain := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(plain.CloseIdleConnections)

	type check struct {
		kind    string
		status  int
		ctype   string
		contain string
	}
	checks := []check{
		{"admin_gui", 200, "text/html", "Kong Manager"},
		{"admin_gui_ssl", 200, "text/html", "Kong Manager"},
		{"portal_gui", 200, "text/html", "Portal"},
		{"portal_gui_ssl", 200, "text/html", "Portal"},
		{"portal_api", 404, "application/json", `{"message":"Not Found"}`},
		{"portal_api_ssl", 404, "application/json", `{"message":"Not Found"}`},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for _, ck := range checks {
		addr := n.Addr(ck.kind)
		if addr == "" {
			t.Fatalf("%s is not listening", ck.kind)
		}
		scheme, client := "http", plain
		if strings.HasSuffix(ck.kind, "_ssl") {
			scheme, client = "https", c
		}
		for _, path := range []string{"/", "/services", "/default/portal/permissions/"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 { // the same keep-alive connection, again and again
					res, err := client.Get(scheme + "://" + addr + path)
					if err != nil {
						errs <- fmt.Sprintf("%s %s: %v", ck.kind, path, err)
						return
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != ck.status || !strings.HasPrefix(res.Header.Get("Content-Type"), ck.ctype) ||
						!strings.Contains(string(b), ck.contain) {
						errs <- fmt.Sprintf("%s %s: %d %q %.200q", ck.kind, path, res.StatusCode, res.Header.Get("Content-Type"), b)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// The portal API's 404 is exactly Kong's body, on any method.
	r := do(t, plain, "POST", "http://"+n.Addr("portal_api")+"/register", url.Values{"email": {"a@b.c"}})
	if r.status != 404 || r.body != `{"message":"Not Found"}` || r.ctype != "application/json; charset=utf-8" {
		t.Errorf("POST portal_api /register: %d %q %q", r.status, r.ctype, r.body)
	}
}

// TestGetRootReportsListeners checks GET /'s configuration: Kong's
// *_listeners, *_ssl_enabled and the GUI settings.
func TestGetRootReportsListeners(t *testing.T) {
	s := allOn(t.TempDir())
	s["admin_gui_url"] = "http://localhost:8002/manager"
	s["admin_gui_path"] = "/manager"
	s["portal_gui_host"] = "localhost:8003"
	n := start(t, s, nil)
	r := do(t, &http.Client{Timeout: 10 * time.Second}, "GET", "http://"+n.Addr("admin")+"/", nil)
	if r.status != 200 {
		t.Fatalf("GET /: %d %s", r.status, r.body)
	}
	var root struct {
		Configuration map[string]any `json:"configuration"`
	}
	if err := json.Unmarshal([]byte(r.body), &root); err != nil {
		t.Fatal(err)
	}
	conf := root.Configuration
	for _, k := range []string{"admin_gui_listeners", "portal_gui_listeners", "portal_api_listeners", "proxy_listeners", "admin_listeners"} {
		ls, ok := conf[k].([]any)
		if !ok || len(ls) != 2 {
			t.Errorf("%s = %#v, want two listeners", k, conf[k])
			continue
		}
		second, _ := ls[1].(map[string]any)
		if second["ssl"] != true || second["ip"] != "127.0.0.1" {
			t.Errorf("%s[1] = %#v, want the ssl listener on 127.0.0.1", k, second)
		}
	}
	want := map[string]any{
		"admin_gui_ssl_enabled": true, "portal_gui_ssl_enabled": true, "portal_api_ssl_enabled": true,
		"proxy_ssl_enabled": true, "admin_ssl_enabled": true, "portal": true,
		"admin_gui_path": "/manager", "portal_gui_host": "localhost:8003", "admin_gui_auth": "",
	}
	for k, v := range want {
		if conf[k] != v {
			t.Errorf("configuration.%s = %#v, want %#v", k, conf[k], v)
		}
	}
	if o, _ := conf["admin_gui_origin"].([]any); len(o) != 1 || o[0] != "http://localhost:8002" {
		t.Errorf("admin_gui_origin = %#v", conf["admin_gui_origin"])
	}
}

// TestOff checks that `off` closes a listener, that the portal's
// listeners open only with portal = on (Kong Enterprise's default is
// off), and that Kong Manager needs the Admin API, as in Kong.
func TestOff(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		open     []string
		closed   []string
	}{
		{"all on", map[string]string{}, []string{"proxy", "proxy_ssl", "admin", "admin_ssl", "admin_gui", "admin_gui_ssl",
			"portal_gui", "portal_gui_ssl", "portal_api", "portal_api_ssl"}, nil},
		{"gui off", map[string]string{"admin_gui_listen": "off"}, []string{"admin", "portal_gui"},
			[]string{"admin_gui", "admin_gui_ssl"}},
		{"portal off by default", map[string]string{"portal": "off"}, []string{"admin_gui"},
			[]string{"portal_gui", "portal_gui_ssl", "portal_api", "portal_api_ssl"}},
		{"portal gui off", map[string]string{"portal_gui_listen": "off"}, []string{"portal_api", "portal_api_ssl"},
			[]string{"portal_gui", "portal_gui_ssl"}},
		{"portal api off", map[string]string{"portal_api_listen": "off"}, []string{"portal_gui"},
			[]string{"portal_api", "portal_api_ssl"}},
		{"no admin api, no manager", map[string]string{"admin_listen": "off"}, []string{"proxy", "portal_gui"},
			[]string{"admin", "admin_ssl", "admin_gui", "admin_gui_ssl"}},
		{"proxy plain only", map[string]string{"proxy_listen": "127.0.0.1:0"}, []string{"proxy"}, []string{"proxy_ssl"}},
		{"gui ssl only", map[string]string{"admin_gui_listen": "127.0.0.1:0 ssl"}, []string{"admin_gui_ssl"}, []string{"admin_gui"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := allOn(t.TempDir())
			if _, set := tt.settings["portal"]; set {
				delete(s, "portal") // the default
			}
			for k, v := range tt.settings {
				if k != "portal" {
					s[k] = v
				}
			}
			n := start(t, s, nil)
			for _, k := range tt.open {
				if n.Addr(k) == "" {
					t.Errorf("%s is closed, want open", k)
				}
			}
			for _, k := range tt.closed {
				if a := n.Addr(k); a != "" {
					t.Errorf("%s listens on %s, want closed", k, a)
				}
			}
		})
	}
}

// TestConfiguredCertificates: ssl_cert / admin_gui_ssl_cert (files) and
// portal_gui_ssl_cert (inline PEM) are served instead of the generated
// certificate, each on its own listeners; kinds without one keep the
// default.
func TestConfiguredCertificates(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	proxyCert, proxyKey, err := testcert.SelfSigned("proxy.test")
	if err != nil {
		t.Fatal(err)
	}
	guiCert, guiKey, err := testcert.SelfSigned("manager.test")
	if err != nil {
		t.Fatal(err)
	}
	portalCert, portalKey, err := testcert.SelfSigned("portal.test")
	if err != nil {
		t.Fatal(err)
	}
	s := allOn(t.TempDir())
	s["ssl_cert"], s["ssl_cert_key"] = write("proxy.crt", proxyCert), write("proxy.key", proxyKey)
	s["admin_gui_ssl_cert"], s["admin_gui_ssl_cert_key"] = write("gui.crt", guiCert), write("gui.key", guiKey)
	s["portal_gui_ssl_cert"], s["portal_gui_ssl_cert_key"] = portalCert, portalKey
	var logs testnode.LogBuffer
	n := start(t, s, &logs)
	for kind, cn := range map[string]string{"proxy_ssl": "proxy.test", "admin_gui_ssl": "manager.test",
		"portal_gui_ssl": "portal.test", "admin_ssl": "localhost", "portal_api_ssl": "localhost"} {
		r := do(t, insecure(t), "GET", "https://"+n.Addr(kind)+"/", nil)
		if r.cert == nil || r.cert.Subject.CommonName != cn {
			t.Errorf("%s serves %v, want %s", kind, r.cert.Subject, cn)
		}
	}
	// GET / shows the keys redacted, never their PEM.
	r := do(t, &http.Client{Timeout: 10 * time.Second}, "GET", "http://"+n.Addr("admin")+"/", nil)
	if strings.Contains(r.body, "PRIVATE KEY") || !strings.Contains(r.body, `"portal_gui_ssl_cert_key":["******"]`) {
		t.Errorf("GET / shows a key: %.300s", r.body)
	}
	// The start-up log names every listener.
	line := logs.String()
	for _, k := range []string{"admin_gui=", "admin_gui_ssl=", "portal_gui=", "portal_api_ssl=", "proxy_ssl="} {
		if !strings.Contains(line, k+"[127.0.0.1:") {
			t.Errorf("start-up log lacks %s: %s", k, line)
		}
	}
}

// TestBadCertificateRefusesToStart: a certificate without its key, or one
// that does not load, stops the node from starting with Kong's message.
func TestBadCertificateRefusesToStart(t *testing.T) {
	cert, _, err := testcert.SelfSigned("x.test")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := testcert.SelfSigned("y.test")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		settings map[string]string
		want     string
	}{
		{"no key", map[string]string{"admin_ssl_cert": cert}, "admin_ssl_cert_key must be specified"},
		{"not a certificate", map[string]string{"ssl_cert": "nope", "ssl_cert_key": otherKey}, "ssl_cert: failed loading certificate"},
		{"key of another certificate", map[string]string{"admin_gui_ssl_cert": cert, "admin_gui_ssl_cert_key": otherKey},
			"admin_gui_ssl_cert_key: failed loading key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := allOn(t.TempDir())
			for k, v := range tt.settings {
				s[k] = v
			}
			err := startErr(s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("start: %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}

// TestShutdownClosesGUIListeners: the GUI listeners go through the
// node's connection tracking: a keep-alive connection to Kong Manager and
// a TLS connection to the portal that never sends a request hold Close up
// no longer than nginx_main_worker_shutdown_timeout, are cut, and the
// ports are closed afterwards.
func TestShutdownClosesGUIListeners(t *testing.T) {
	prefix := t.TempDir()
	s := allOn(prefix)
	s["nginx_main_worker_shutdown_timeout"] = "1s"
	n := start(t, s, nil)
	c := clientTrusting(t, defaultCert(t, prefix))
	if r := do(t, c, "GET", "https://"+n.Addr("admin_gui_ssl")+"/", nil); r.status != 200 {
		t.Fatalf("manager: %d", r.status)
	}
	idle, err := tls.Dial("tcp", n.Addr("portal_gui_ssl"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	addrs := []string{n.Addr("admin_gui"), n.Addr("admin_gui_ssl"), n.Addr("portal_gui"), n.Addr("portal_api_ssl")}
	began := time.Now()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 4*time.Second {
		t.Errorf("Close took %v", d)
	}
	// The idle connection was cut.
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Error("the idle portal connection is still open")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("the idle portal connection was not closed")
	}
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Close", a)
		}
	}
}

// startErr loads settings and starts a node as `gatehouse start` would,
// returning the error; a node that starts is closed.
func startErr(settings map[string]string) error {
	flags := map[string]string{"status_listen": "off", "log_level": "crit"}
	for k, v := range settings {
		flags[k] = v
	}
	cfg, err := config.Load(config.LoadOptions{Flags: flags})
	if err != nil {
		return err
	}
	n, err := app.Start(context.Background(), cfg, nil)
	if err != nil {
		return err
	}
	return errors.Join(errors.New("started"), n.Close())
}

// TestSlowClientsCut: Kong Manager and the portal listen on 0.0.0.0 by
// default; a client that sends half a request head, or idles on a
// keep-alive connection, is cut after nginx_http_client_header_timeout /
// nginx_http_keepalive_timeout instead of holding a connection forever.
func TestSlowClientsCut(t *testing.T) {
	s := allOn(t.TempDir())
	s["nginx_http_client_header_timeout"] = "1s"
	s["nginx_http_keepalive_timeout"] = "1s"
	n := start(t, s, nil)
	for _, kind := range []string{"admin_gui", "portal_gui", "portal_api"} {
		t.Run(kind, func(t *testing.T) {
			for _, first := range []string{"GET / HTTP/1.1\r\nHost: x\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"} {
				conn, err := net.Dial("tcp", n.Addr(kind))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if _, err := conn.Write([]byte(first)); err != nil {
					t.Fatal(err)
				}
				// Read whatever the server answers until it closes; it
				// must close well before our own deadline.
				_ = conn.SetReadDeadline(time.Now().Add(8 * time.Second))
				began := time.Now()
				_, err = io.Copy(io.Discard, conn)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("%q: the connection is still open after %v", first, time.Since(began))
				}
			}
		})
	}
}

// TestUnsavableDefaultCertificate: when <prefix>/ssl cannot be written the
// node still starts, warns, and serves one certificate on every TLS
// listener.
func TestUnsavableDefaultCertificate(t *testing.T) {
	prefix := t.TempDir()
	if err := os.WriteFile(filepath.Join(prefix, "ssl"), []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testnode.LogBuffer
	n := start(t, allOn(prefix), &logs)
	if !strings.Contains(logs.String(), "the generated default certificate could not be saved") {
		t.Errorf("no warning in the logs: %s", logs.String())
	}
	var first []byte
	for _, kind := range []string{"proxy_ssl", "admin_ssl", "admin_gui_ssl", "portal_gui_ssl", "portal_api_ssl"} {
		r := do(t, insecure(t), "GET", "https://"+n.Addr(kind)+"/", nil)
		if r.cert == nil {
			t.Fatalf("%s: no certificate", kind)
		}
		if first == nil {
			first = r.cert.Raw
		} else if !bytes.Equal(first, r.cert.Raw) {
			t.Errorf("%s serves another certificate than proxy_ssl", kind)
		}
	}
}

// TestAdminGUIOrigins: with admin_gui_url set, the Admin API's CORS
// answers name only Kong Manager's origins (Kong's cors_filter): the
// request's Origin when it is one of them, else the first; credentials
// stay allowed, preflights included.
func TestAdminGUIOrigins(t *testing.T) {
	n := testnode.Start(t, map[string]string{
		"proxy_listen":  "off",
		"admin_listen":  "127.0.0.1:0",
		"admin_gui_url": "http://manager.test:8002, https://gui.test",
	})
	base := "http://" + n.Addr("admin")
	tests := []struct {
		method, origin, want string
	}{
		{"GET", "http://manager.test:8002", "http://manager.test:8002"},
		{"GET", "https://gui.test", "https://gui.test"},
		{"GET", "http://evil.test", "http://manager.test:8002"},
		{"GET", "", "http://manager.test:8002"},
		{"OPTIONS", "https://gui.test", "https://gui.test"},
		{"OPTIONS", "http://evil.test", "http://manager.test:8002"},
	}
	for _, tc := range tests {
		req, err := http.NewRequest(tc.method, base+"/services", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
			t.Errorf("%s Origin %q: Access-Control-Allow-Origin %q, want %q", tc.method, tc.origin, got, tc.want)
		}
		if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("%s Origin %q: Access-Control-Allow-Credentials %q", tc.method, tc.origin, got)
		}
	}
}
