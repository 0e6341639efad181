package proxy_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testcert"
)

// TestTLSBySNI serves HTTPS on the proxy with the certificate whose SNI
// matches, falls back to the default certificate, and routes https-only
// routes.
func TestTLSBySNI(t *testing.T) {
	up := startUpstream(t, "tls-up", nil)
	nd := startNode(t, map[string]string{"proxy_listen": "127.0.0.1:0, 127.0.0.1:0 ssl"})
	cert, key, err := testcert.SelfSigned("secure.test")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"cert": cert, "key": key, "snis": []string{"secure.test", "*.wild.test"}})
	res, err := http.Post(nd.admin+"/certificates", "application/json", strings.NewReader(string(body)))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("certificate: %v %v", res, err)
	}
	res.Body.Close()
	nd.configure("POST", "/services", "name=s", "url=http://"+up.addr)
	nd.configure("POST", "/services/s/routes", "paths=/tls", "protocols=https")

	addr := nd.n.Addr("proxy_ssl")
	get := func(serverName string) (*http.Response, string) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: serverName, InsecureSkipVerify: true}}}
		res, err := client.Get("https://" + addr + "/tls")
		if err != nil {
			t.Fatalf("%s: %v", serverName, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for name, wantCN := range map[string]string{"secure.test": "secure.test", "a.wild.test": "secure.test", "other.test": "localhost"} {
		res, body := get(name)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d %s", name, res.StatusCode, body)
		}
		if cn := res.TLS.PeerCertificates[0].Subject.CommonName; cn != wantCN {
			t.Errorf("%s: certificate %q, want %q", name, cn, wantCN)
		}
	}
	// Plain HTTP on an https-only route gets Kong's 426.
	if r := nd.request("GET", "/tls", nil, nil); r.status != 426 {
		t.Errorf("plain http: %d", r.status)
	}
}
