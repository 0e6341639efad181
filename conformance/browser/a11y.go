package browser

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// UnlabelledScript is a JavaScript expression listing the visible form
// controls under scope ("" for the whole document) with no accessible
// name: no <label>, aria-label, aria-labelledby or title.
func UnlabelledScript(scope string) string {
	sel := "input, select, textarea"
	if scope != "" {
		sel = scope + " input, " + scope + " select, " + scope + " textarea"
	}
	return fmt.Sprintf(`Array.from(document.querySelectorAll(%q))
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null && e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !e.getAttribute('title'))
  .map(e => e.name || e.id || e.outerHTML.slice(0, 60))`, sel)
}

// MinContrast is WCAG 2 AA's minimum contrast ratio for normal text.
const MinContrast = 4.5

// LowContrastScript is a JavaScript expression listing visible text whose
// colour against its effective background (the nearest ancestor's
// non-transparent background, white at the top) is under MinContrast:
// "<text> <ratio> <class or tag>". Its arithmetic is ContrastRatio's.
var LowContrastScript = `(() => {
  const rgb = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !el.offsetParent && el !== document.body) continue;
    if (el.closest('[hidden]') || el.closest('noscript') || el.closest('option')) continue;
    const fg = rgb(getComputedStyle(el).color), b = bg(el);
    const l1 = lum(fg), l2 = lum(b);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < ` + strconv.FormatFloat(MinContrast, 'f', -1, 64) + `) bad.push(n.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2) + ' ' + (el.className || el.tagName));
  }
  return bad;
})()`

// RGB is an sRGB colour, 0–255 a channel.
type RGB struct{ R, G, B uint8 }

// ParseHex reads "#rgb" or "#rrggbb".
func ParseHex(s string) (RGB, error) {
	if !strings.HasPrefix(s, "#") {
		return RGB{}, fmt.Errorf("colour %q: want #rgb or #rrggbb", s)
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 || strings.ContainsAny(h, "+-") {
		return RGB{}, fmt.Errorf("colour %q: want #rgb or #rrggbb", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return RGB{}, fmt.Errorf("colour %q: %w", s, err)
	}
	return RGB{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// Luminance is WCAG 2's relative luminance of c.
func Luminance(c RGB) float64 {
	f := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*f(c.R) + 0.7152*f(c.G) + 0.0722*f(c.B)
}

// ContrastRatio is WCAG 2's contrast ratio of two colours, 1 to 21,
// whichever is lighter.
func ContrastRatio(a, b RGB) float64 {
	l1, l2 := Luminance(a), Luminance(b)
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}
