package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// pollEvery is how often the waits below look again; each wait ends with
// its step's deadline.
const pollEvery = 50 * time.Millisecond

// Into runs a, keeping its value in p.
func Into[T any](a chromedp.Action[T], p *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		v, err := a(ctx, tg)
		*p = v
		return err
	})
}

// ReadySelector is the selector of a GUI's main element once it has
// rendered the route hash (both GUIs set main's data-ready after every
// render).
func ReadySelector(hash string) string {
	return fmt.Sprintf(`main[data-ready=%q]`, hash)
}

// Ready waits until the page has rendered the route hash.
func Ready(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(ReadySelector(hash)))
}

// Open navigates to base + "/" + hash and waits until it has rendered.
// When the tab already shows that document, only the hash changes.
func Open(base, hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Navigate(base+"/"+hash), Ready(hash))
}

// OpenAfresh loads the page anew (by way of about:blank: a navigation
// that changes only the hash would not reload it) and waits until it has
// rendered hash.
func OpenAfresh(base, hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Navigate("about:blank"), chromedp.Navigate(base+"/"+hash), Ready(hash))
}

// PageUnder reports whether a rendered route is a page under prefix:
// longer than prefix and not a "new" form (prefix+"new", ".../new").
func PageUnder(prefix, route string) bool {
	return strings.HasPrefix(route, prefix) && len(route) > len(prefix) &&
		route != prefix+"new" && !strings.HasSuffix(route, "/new")
}

// ReadyPrefix waits for a rendered route under prefix (PageUnder) and
// returns it in got: the page a create form goes to.
func ReadyPrefix(prefix string, got *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			attr, err := chromedp.AttributeValue(chromedp.CSS("main"), "data-ready")(ctx, tg)
			if err != nil {
				return err
			}
			if attr.Exists && PageUnder(prefix, attr.Value) {
				*got = attr.Value
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for a page under %s (at %q): %w", prefix, attr.Value, ctx.Err())
			case <-time.After(pollEvery):
			}
		}
	})
}

// IDFromRoute returns the second segment of a route: "#/services/ab12" →
// "ab12" ("" when there is none).
func IDFromRoute(route string) string {
	parts := strings.Split(strings.TrimPrefix(route, "#/"), "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// ExpectText waits until the element sel contains want.
func ExpectText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			got, err := chromedp.Text(chromedp.CSS(sel), chromedp.AtLeast(0))(ctx, tg)
			if err == nil && strings.Contains(got, want) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: want text %q, have %q: %w", sel, want, got, ctx.Err())
			case <-time.After(pollEvery):
			}
		}
	})
}

// WaitTrue polls a JavaScript expression until it is true.
func WaitTrue(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, tg)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s (%v): %w", expr, err, ctx.Err())
			case <-time.After(pollEvery):
			}
		}
	})
}

// Fill types value into main's control named name, after clearing it.
func Fill(name, value string) chromedp.Action[chromedp.Void] {
	return FillSel(fmt.Sprintf(`main [name=%q]`, name), value)
}

// FillSel types value into the control sel, after clearing it.
func FillSel(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		Into(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; return true })()`, sel)), new(bool)),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// Check clicks a checkbox or radio button unless it already is checked.
func Check(sel string) chromedp.Action[chromedp.Void] {
	return Into(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error('no ' + %q); if (!e.checked) e.click(); return e.checked })()`, sel, sel)), new(bool))
}

// SetText sets a textarea's or input's value the way typing would end
// (an input event follows).
func SetText(sel, text string) chromedp.Action[chromedp.Void] {
	js, _ := json.Marshal(text)
	return Into(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error('no ' + %q); e.value = %s; e.dispatchEvent(new Event('input', {bubbles: true})); return true })()`, sel, sel, js)), new(bool))
}

// PageTiming is what the browser measured of a page load, in ms from the
// navigation's start: first contentful paint, and the GUI's own
// data-ready-at mark on main.
type PageTiming struct {
	FCP   float64 `json:"fcp"`
	Ready float64 `json:"ready"`
}

// Timing reads the page's PageTiming.
func Timing(p *PageTiming) chromedp.Action[chromedp.Void] {
	return Into(chromedp.Evaluate[PageTiming](`({ fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || -1, ready: Number(document.getElementById('main').dataset.readyAt) })`), p)
}

// Within reports whether both figures were measured and are under the
// bounds (ms).
func (p PageTiming) Within(fcp, ready float64) bool {
	return p.FCP > 0 && p.FCP <= fcp && p.Ready > 0 && p.Ready <= ready
}

// ActiveElement reads the focused element as "TAG:text" (its text
// content), to check keyboard focus.
func ActiveElement(p *string) chromedp.Action[chromedp.Void] {
	return Into(chromedp.Evaluate[string](`document.activeElement.tagName + ':' + document.activeElement.textContent`), p)
}

// Labelled fails (as an action) when a control in main has no label.
func Labelled(page string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		missing, err := chromedp.Evaluate[[]string](UnlabelledScript("main"))(ctx, tg)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s: controls without a label: %v", page, missing)
		}
		return nil
	})
}
