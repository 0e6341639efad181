package managergui_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
)

// TestTrainingWalk is the training's first flows (§4–§6) done in the GUI:
// a service and a route, then a consumer with a key-auth credential and
// the key-auth plugin, each checked through the proxy.
func TestTrainingWalk(t *testing.T) {
	w := newWalk(t)

	var version, reachable string
	w.Step("dashboard",
		w.open("#/"),
		browser.Into(chromedp.Text(chromedp.CSS("#node-version")), &version),
		browser.Into(chromedp.Text(chromedp.CSS("#db-reachable")), &reachable),
	)
	if version == "" || version == "—" || reachable != "yes" {
		t.Fatalf("dashboard: version %q, database reachable %q", version, reachable)
	}
	w.keep("dashboard")
	// First paint and the dashboard filled from two Admin API calls;
	// the first Tab lands on the skip link.
	w.CheckFirstLoad("dashboard")

	// A service form, first with a port Kong refuses: the error appears
	// next to the port field, in Kong's words.
	host, port, err := net.SplitHostPort(w.upstream)
	if err != nil {
		t.Fatal(err)
	}
	w.Step("service form shows Kong's field error",
		w.open("#/services/new"),
		browser.Labelled("new service"),
		browser.Fill("name", "echo"),
		browser.Fill("host", host),
		browser.Fill("port", "99999"),
		submit(),
		browser.ExpectText(`main [data-field="port"] .error`, "value should be between 0 and 65535"),
	)
	w.keep("service-form-error")
	var invalid chromedp.AttributeResult
	w.Step("port marked invalid",
		browser.Into(chromedp.AttributeValue(chromedp.CSS(`main [name="port"]`), "aria-invalid"), &invalid))
	if !invalid.Exists || invalid.Value != "true" {
		t.Fatalf("port field aria-invalid = %+v, want true", invalid)
	}

	var svcRoute string
	w.Step("create service",
		browser.Fill("port", port),
		submit(),
		browser.ReadyPrefix("#/services/", &svcRoute),
		browser.ExpectText("main", "Created echo."),
	)
	svcID := browser.IDFromRoute(svcRoute)

	w.Step("create route under the service",
		w.open("#/services/"+svcID+"/routes/new"),
		browser.Labelled("new route"),
		browser.Fill("name", "echo-route"),
		browser.Fill("paths", "/echo"),
		submit(),
		browser.Ready("#/services/"+svcID),
		browser.ExpectText("#sec-routes + p + table", "echo-route"),
	)
	if body := w.proxyStatus("/echo/hi", nil, http.StatusOK); !strings.Contains(body, "upstream saw GET /hi") {
		t.Fatalf("proxied body %q", body)
	}

	var consumerRoute string
	w.Step("create consumer",
		w.open("#/consumers/new"),
		browser.Fill("username", "alice"),
		submit(),
		browser.ReadyPrefix("#/consumers/", &consumerRoute),
		browser.ExpectText("main", "Created alice."),
	)
	consumerID := browser.IDFromRoute(consumerRoute)

	w.Step("add key-auth credential",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="#/consumers/%s/key-auth/new"]`, consumerID))),
		browser.Ready("#/consumers/"+consumerID+"/key-auth/new"),
		browser.Labelled("new key-auth credential"),
		browser.Fill("key", "alice-secret"),
		submit(),
		browser.Ready("#/consumers/"+consumerID),
		browser.ExpectText("#sec-key-auth + p + table", "alice-secret"),
	)

	w.Step("choose the key-auth plugin for the service",
		w.open("#/services/"+svcID+"/plugins/new"),
		chromedp.SetValue(chromedp.CSS(`#plugin-name`), "key-auth"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		browser.Ready("#/services/"+svcID+"/plugins/new?name=key-auth"),
	)
	var keyNames string
	w.Step("key-auth's schema form",
		browser.Labelled("key-auth form"),
		browser.Into(chromedp.Value(chromedp.CSS(`main [name="config.key_names"]`)), &keyNames),
	)
	w.keep("key-auth-plugin-form")
	w.Step("enable key-auth",
		submit(),
		browser.Ready("#/services/"+svcID),
		browser.ExpectText("#sec-plugins + p + table", "key-auth"),
	)
	if keyNames != "apikey" {
		t.Fatalf("config.key_names prefilled %q, want the schema default apikey", keyNames)
	}

	w.proxyStatus("/echo/hi", nil, http.StatusUnauthorized)
	w.proxyStatus("/echo/hi", http.Header{"Apikey": {"alice-secret"}}, http.StatusOK)
	w.proxyStatus("/echo/hi", http.Header{"Apikey": {"wrong"}}, http.StatusUnauthorized)
}
