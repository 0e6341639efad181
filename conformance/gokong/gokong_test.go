package gokong_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testcert"
)

// id makes a fixed UUID for entity n of a kind, so a sync by id is
// reproducible.
func id(kind byte, n int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012d", uint32(kind)<<24|uint32(n), n)
}

// TestGoKongSync upserts every core entity by id with PUT, through a
// go-kong-shaped client over one keep-alive connection (as decK and the
// Kong Ingress Controller do), updates and deletes some, and then proves
// the proxy serves exactly what the database holds: entity by entity
// (services, routes in the router, plugins, upstreams) and with requests
// through the proxy to upstreams on 127.0.0.1.
func TestGoKongSync(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testGoKongSync(t, b.settings(t)) })
	}
}

func testGoKongSync(t *testing.T, settings map[string]string) {
	n := startNode(t, settings)
	a, bAddr := startUpstream(t, "A"), startUpstream(t, "B")
	hc, dials := oneConn()
	kc := NewClient("http://"+n.Addr("admin"), hc)
	proxy := "http://" + n.Addr("proxy")
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	hostPort := func(addr string) (string, int) {
		h, p, _ := strings.Cut(addr, ":")
		var port int
		fmt.Sscan(p, &port)
		return h, port
	}
	aHost, aPort := hostPort(a)
	bHost, bPort := hostPort(bAddr)

	// Certificates, SNIs, CA certificates.
	certPEM, keyPEM, err := testcert.SelfSigned("a.test")
	must("certificate", err)
	caPEM, _, err := testcert.SelfSigned("ca.test")
	must("CA certificate", err)
	cert, err := kc.CreateCertificate(ctx, &Certificate{ID: String(id('c', 1)), Cert: String(certPEM), Key: String(keyPEM)})
	must("certificate", err)
	_, err = kc.CreateSNI(ctx, &SNI{ID: String(id('n', 1)), Name: String("a.test"), Certificate: &Certificate{ID: cert.ID}})
	must("SNI", err)
	_, err = kc.CreateCACertificate(ctx, &CACertificate{ID: String(id('a', 1)), Cert: String(caPEM)})
	must("CA certificate", err)

	// An upstream with a target on A; a service balanced over it.
	up, err := kc.CreateUpstream(ctx, &Upstream{ID: String(id('u', 1)), Name: String("pool.test")})
	must("upstream", err)
	_, err = kc.CreateTarget(ctx, *up.ID, &Target{ID: String(id('t', 1)), Target: String(a), Weight: Int(100), Upstream: &Upstream{ID: up.ID}})
	must("target", err)
	_, err = kc.CreateTarget(ctx, "pool.test", &Target{ID: String(id('t', 2)), Target: String(bAddr), Weight: Int(100), Upstream: &Upstream{ID: up.ID}})
	must("target", err)

	// Services and routes.
	var services []*Service
	for i, s := range []struct {
		host string
		port int
	}{{aHost, aPort}, {"pool.test", 80}, {bHost, bPort}, {bHost, bPort}, {aHost, aPort}} {
		svc, err := kc.CreateService(ctx, &Service{ID: String(id('s', i)), Name: String(fmt.Sprintf("svc-%d", i)),
			Host: String(s.host), Port: Int(s.port), Protocol: String("http"), Retries: Int(2), Tags: []string{"sync"}})
		must("service", err)
		services = append(services, svc)
	}
	for i := range 5 {
		// Half the routes carry the whole service object as read back
		// (what a go-kong caller holds), the rest its id only.
		ref := &Service{ID: services[i].ID}
		if i%2 == 0 {
			ref = services[i]
		}
		_, err := kc.CreateRoute(ctx, &Route{ID: String(id('r', i)), Name: String(fmt.Sprintf("route-%d", i)),
			Paths: StringSlice(fmt.Sprintf("/r%d", i)), StripPath: Bool(true), Service: ref})
		must("route", err)
	}

	// Consumers and key-auth credentials.
	for i := range 3 {
		_, err := kc.CreateConsumer(ctx, &Consumer{ID: String(id('o', i)), Username: String(fmt.Sprintf("user-%d", i))})
		must("consumer", err)
		_, err = kc.CreateKeyAuth(ctx, id('o', i), &KeyAuth{ID: String(id('k', i)), Key: String(fmt.Sprintf("key-%d", i))})
		must("key-auth", err)
	}

	// Plugins: key-auth on route 1, rate-limiting on service 0,
	// request-transformer on route 0, and a second rate-limiting on
	// route 2 (another scope), later deleted.
	_, err = kc.CreatePlugin(ctx, &Plugin{ID: String(id('p', 1)), Name: String("key-auth"), Route: &Route{ID: String(id('r', 1))},
		Config: map[string]any{"key_names": []string{"apikey"}}})
	must("key-auth plugin", err)
	_, err = kc.CreatePlugin(ctx, &Plugin{ID: String(id('p', 2)), Name: String("rate-limiting"), Service: &Service{ID: services[0].ID},
		Config: map[string]any{"minute": 1000, "policy": "local"}})
	must("rate-limiting plugin", err)
	_, err = kc.CreatePlugin(ctx, &Plugin{ID: String(id('p', 3)), Name: String("request-transformer"), Route: &Route{ID: String(id('r', 0))},
		Config: map[string]any{"add": map[string]any{"headers": []string{"X-Added:yes"}}}})
	must("request-transformer plugin", err)
	_, err = kc.CreatePlugin(ctx, &Plugin{ID: String(id('p', 4)), Name: String("rate-limiting"), Route: &Route{ID: String(id('r', 2))},
		Config: map[string]any{"minute": 7, "policy": "local"}})
	must("second rate-limiting plugin", err)

	// A second sync pass: the same entities PUT again (idempotent), then
	// updates and deletions.
	for i := range 5 {
		_, err := kc.CreateService(ctx, &Service{ID: services[i].ID, Name: services[i].Name, Host: services[i].Host,
			Port: services[i].Port, Protocol: String("http"), Retries: Int(2), Tags: []string{"sync"}})
		must("service again", err)
	}
	_, err = kc.UpdateService(ctx, &Service{ID: services[3].ID, Host: String(aHost), Port: Int(aPort)})
	must("update service 3", err)
	_, err = kc.UpdateRoute(ctx, &Route{ID: String(id('r', 3)), Paths: StringSlice("/moved")})
	must("update route 3", err)
	_, err = kc.UpdatePlugin(ctx, &Plugin{ID: String(id('p', 2)), Config: map[string]any{"minute": 500}})
	must("update plugin", err)
	must("delete plugin", kc.DeletePlugin(ctx, id('p', 4)))
	must("delete route 4", kc.DeleteRoute(ctx, id('r', 4)))
	must("delete service 4", kc.DeleteService(ctx, id('s', 4)))
	must("delete key-auth 2", kc.DeleteKeyAuth(ctx, id('o', 2), id('k', 2)))
	must("delete consumer 2", kc.DeleteConsumer(ctx, id('o', 2)))
	must("delete target 2", kc.DeleteTarget(ctx, "pool.test", id('t', 2)))

	if *dials != 1 {
		t.Fatalf("the sync used %d connections, want one keep-alive connection", *dials)
	}

	// The snapshot holds exactly what the database holds.
	if diffs := compareSnapshot(t, n); len(diffs) > 0 {
		t.Fatalf("snapshot differs from the database:\n%s", strings.Join(diffs, "\n"))
	}
	snap := n.Snapshots().Current()
	if snap.Certificates.Lookup("a.test") == nil {
		t.Fatal("the certificate for a.test is not in the snapshot")
	}
	st := n.Store()
	for entity, want := range map[string]int{"services": 4, "routes": 4, "consumers": 2, "keyauth_credentials": 2,
		"plugins": 3, "upstreams": 1, "targets": 1, "certificates": 1, "snis": 1, "ca_certificates": 1} {
		if got := len(listAll(t, st, entity)); got != want {
			t.Errorf("%d %s in the database, want %d", got, entity, want)
		}
	}

	// And the proxy serves it.
	check := func(path string, header map[string]string, wantStatus int, wantBody string, extra func(http.Header) string) {
		t.Helper()
		status, h, body := proxyGet(t, proxy, path, header)
		if status != wantStatus || (wantBody != "" && body != wantBody) {
			t.Fatalf("GET %s: %d %q, want %d %q", path, status, body, wantStatus, wantBody)
		}
		if extra != nil {
			if msg := extra(h); msg != "" {
				t.Fatalf("GET %s: %s", path, msg)
			}
		}
	}
	check("/r0/x", nil, 200, "A", func(h http.Header) string {
		if h.Get("X-Upstream-Path") != "/x" || h.Get("X-Upstream-Added") != "yes" {
			return fmt.Sprintf("upstream path %q, added header %q: request-transformer not applied", h.Get("X-Upstream-Path"), h.Get("X-Upstream-Added"))
		}
		if h.Get("X-RateLimit-Limit-Minute") != "500" {
			return fmt.Sprintf("X-RateLimit-Limit-Minute %q, want the updated 500", h.Get("X-RateLimit-Limit-Minute"))
		}
		return ""
	})
	check("/r1", nil, 401, "", nil)
	for range 4 { // service 1 balances over pool.test, whose target B was deleted
		check("/r1", map[string]string{"apikey": "key-0"}, 200, "A", nil)
		check("/r1", map[string]string{"apikey": "key-1"}, 200, "A", nil)
	}
	check("/r1", map[string]string{"apikey": "key-2"}, 401, "", nil) // deleted with its consumer
	check("/r2", nil, 200, "B", func(h http.Header) string {
		if h.Get("X-RateLimit-Limit-Minute") != "" {
			return "the deleted rate-limiting plugin still applies"
		}
		return ""
	})
	check("/moved", nil, 200, "A", nil) // service 3 now on A
	check("/r3", nil, 404, "", nil)
	check("/r4", nil, 404, "", nil)
}
