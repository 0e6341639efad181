package managergui_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// TestLuaPluginForm: a Lua plugin (testdata/plugins/gui-greeter) gets a
// form generated from its schema.lua through GET /schemas/plugins/{name};
// filling it configures the plugin exactly, as the proxy shows.
func TestLuaPluginForm(t *testing.T) {
	settings := map[string]string{"plugins": "bundled,gui-greeter"}
	cfg, err := config.Load(config.LoadOptions{Flags: settings})
	if err != nil {
		t.Fatal(err)
	}
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: "testdata/plugins", Names: []string{"gui-greeter"},
		Prefix: t.TempDir(), Configuration: cfg.Values()})
	if err != nil {
		t.Fatal(err)
	}
	w := newWalkWith(t, settings, app.Options{Providers: []hostabi.Provider{p}})
	var svc struct{ ID string }
	w.mustAPI(201, "POST", "/services", map[string]any{"name": "greeted", "host": w.upstreamHost(), "port": w.upstreamPort()}, &svc)
	w.mustAPI(201, "POST", "/services/greeted/routes", map[string]any{"paths": []string{"/greet"}}, nil)

	var consumerShown int
	w.Step("pick the Lua plugin",
		w.open("#/services/"+svc.ID+"/plugins/new"),
		browser.ExpectText("#plugin-name", "gui-greeter"),
		chromedp.SetValue(chromedp.CSS("#plugin-name"), "gui-greeter"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		browser.Ready("#/services/"+svc.ID+"/plugins/new?name=gui-greeter"),
		browser.Labelled("gui-greeter form"),
		browser.Into(chromedp.Evaluate[int](`document.querySelectorAll('main [name="consumer"]').length`), &consumerShown),
	)
	if consumerShown != 0 {
		t.Fatal("the form offers a consumer for a plugin whose schema says no_consumer")
	}
	w.Step("required greeting is refused empty",
		submit(),
		browser.ExpectText(`main [data-field="config.greeting"] .error`, "required field missing"),
	)
	w.Step("fill every kind of field",
		browser.Fill("config.greeting", "hello"),
		browser.Fill("config.times", "2"),
		chromedp.SetValue(chromedp.CSS(`main [name="config.style"]`), "loud"),
		browser.Fill("config.extra", "b\na"),
		browser.Fill("config.signature.name", "gui"),
		submit(),
		browser.Ready("#/services/"+svc.ID),
		browser.ExpectText(`section[aria-labelledby="sec-plugins"]`, "gui-greeter"),
	)
	w.proxyStatus("/greet", nil, http.StatusOK)
	res, err := w.http.HTTP.Get(w.proxy + "/greet")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.Header.Get("X-Greeting"), "HELLO HELLO / a,b / gui"; got != want {
		t.Fatalf("X-Greeting %q, want %q", got, want)
	}
}
