package managergui_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestTrainingWalk is the training's first flows (§4–§6) done in the GUI:
// a service and a route, then a consumer with a key-auth credential and
// the key-auth plugin, each checked through the proxy.
func TestTrainingWalk(t *testing.T) {
	w := newWalk(t)

	var version, reachable string
	w.step("dashboard",
		w.open("#/"),
		into(chromedp.Text(chromedp.CSS("#node-version")), &version),
		into(chromedp.Text(chromedp.CSS("#db-reachable")), &reachable),
	)
	if version == "" || version == "—" || reachable != "yes" {
		t.Fatalf("dashboard: version %q, database reachable %q", version, reachable)
	}
	// First paint and the dashboard filled from two Admin API calls, from
	// the navigation's start. The issue asks first paint < 300 ms on
	// loopback; the bound here leaves room for a loaded 2-core machine
	// running -race, and the log line shows the real figures.
	var timing pageTiming
	w.step("timing",
		into(chromedp.Evaluate[pageTiming](`({ fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || -1, ready: Number(document.getElementById('main').dataset.readyAt) })`), &timing),
	)
	t.Logf("first contentful paint %.0f ms, dashboard rendered %.0f ms", timing.FCP, timing.Ready)
	if timing.FCP <= 0 || timing.FCP > 1500 || timing.Ready <= 0 || timing.Ready > 3000 {
		t.Fatalf("first paint %.0f ms, dashboard %.0f ms", timing.FCP, timing.Ready)
	}

	// Keyboard: the first Tab lands on the skip link, Enter moves focus
	// to the main region.
	var focused string
	w.step("keyboard skip link",
		chromedp.KeyEvent("\t"),
		into(chromedp.Evaluate[string](`document.activeElement.textContent`), &focused),
	)
	if focused != "Skip to content" {
		t.Fatalf("first Tab focused %q, want the skip link", focused)
	}

	// A service form, first with a port Kong refuses: the error appears
	// next to the port field, in Kong's words.
	host, port, err := net.SplitHostPort(w.upstream)
	if err != nil {
		t.Fatal(err)
	}
	w.step("service form shows Kong's field error",
		w.open("#/services/new"),
		w.expectLabelled("new service"),
		fill("name", "echo"),
		fill("host", host),
		fill("port", "99999"),
		submit(),
		expectText(`main [data-field="port"] .error`, "value should be between 0 and 65535"),
	)
	var invalid chromedp.AttributeResult
	w.step("port marked invalid",
		into(chromedp.AttributeValue(chromedp.CSS(`main [name="port"]`), "aria-invalid"), &invalid))
	if !invalid.Exists || invalid.Value != "true" {
		t.Fatalf("port field aria-invalid = %+v, want true", invalid)
	}

	var svcRoute string
	w.step("create service",
		fill("port", port),
		submit(),
		w.readyPrefix("#/services/", &svcRoute),
		expectText("main", "Created echo."),
	)
	svcID := idFromRoute(svcRoute)

	w.step("create route under the service",
		w.open("#/services/"+svcID+"/routes/new"),
		w.expectLabelled("new route"),
		fill("name", "echo-route"),
		fill("paths", "/echo"),
		submit(),
		w.ready("#/services/"+svcID),
		expectText("#sec-routes + p + table", "echo-route"),
	)
	if body := w.proxyStatus("/echo/hi", nil, http.StatusOK); !strings.Contains(body, "upstream saw GET /hi") {
		t.Fatalf("proxied body %q", body)
	}

	var consumerRoute string
	w.step("create consumer",
		w.open("#/consumers/new"),
		fill("username", "alice"),
		submit(),
		w.readyPrefix("#/consumers/", &consumerRoute),
		expectText("main", "Created alice."),
	)
	consumerID := idFromRoute(consumerRoute)

	w.step("add key-auth credential",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="#/consumers/%s/key-auth/new"]`, consumerID))),
		w.ready("#/consumers/"+consumerID+"/key-auth/new"),
		w.expectLabelled("new key-auth credential"),
		fill("key", "alice-secret"),
		submit(),
		w.ready("#/consumers/"+consumerID),
		expectText("#sec-key-auth + p + table", "alice-secret"),
	)

	w.step("choose the key-auth plugin for the service",
		w.open("#/services/"+svcID+"/plugins/new"),
		chromedp.SetValue(chromedp.CSS(`#plugin-name`), "key-auth"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		w.ready("#/services/"+svcID+"/plugins/new?name=key-auth"),
	)
	var keyNames string
	w.step("enable key-auth from its schema form",
		w.expectLabelled("key-auth form"),
		into(chromedp.Value(chromedp.CSS(`main [name="config.key_names"]`)), &keyNames),
		submit(),
		w.ready("#/services/"+svcID),
		expectText("#sec-plugins + p + table", "key-auth"),
	)
	if keyNames != "apikey" {
		t.Fatalf("config.key_names prefilled %q, want the schema default apikey", keyNames)
	}

	w.proxyStatus("/echo/hi", nil, http.StatusUnauthorized)
	w.proxyStatus("/echo/hi", http.Header{"Apikey": {"alice-secret"}}, http.StatusOK)
	w.proxyStatus("/echo/hi", http.Header{"Apikey": {"wrong"}}, http.StatusUnauthorized)
}

// pageTiming is what the browser measured of a page load, in ms from the
// navigation's start.
type pageTiming struct {
	FCP   float64 `json:"fcp"`
	Ready float64 `json:"ready"`
}
