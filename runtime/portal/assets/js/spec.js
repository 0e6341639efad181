// Renders an OpenAPI 2 or 3 spec with the vendored Swagger UI
// (vendor/swagger-ui, swagger-ui-dist; see VERSION). The bundle and its
// stylesheet load on the first spec page only, so the catalogue's first
// paint does not wait for 1.7 MB of renderer.
//
// The spec text (YAML or JSON, as the portal API returned it) is handed to
// Swagger UI directly: no URL, nothing fetched again, no proxy. "Try it
// out" then sends requests from the browser to the spec's own host (or
// servers), so the API must answer CORS for this portal's origin: the
// training's §8.4 exercise.

const BASE = '/vendor/swagger-ui/';
let loading = null;

function addOnce(tag, attrs) {
  return new Promise((resolve, reject) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.addEventListener('load', () => resolve(), { once: true });
    el.addEventListener('error', () => reject(new Error(`cannot load ${attrs.src || attrs.href}`)), { once: true });
    document.head.append(el);
  });
}

/** load adds Swagger UI's stylesheet and bundle to the page, once. */
export function load() {
  if (!loading) {
    loading = Promise.all([
      addOnce('link', { rel: 'stylesheet', href: `${BASE}swagger-ui.css` }),
      addOnce('script', { src: `${BASE}swagger-ui-bundle.js` }),
    ]).then(() => {
      if (typeof window.SwaggerUIBundle !== 'function') throw new Error('Swagger UI did not load');
      return window.SwaggerUIBundle;
    });
    loading.catch(() => { loading = null; });
  }
  return loading;
}

/**
 * render mounts Swagger UI into el with the spec's text. It resolves once
 * the spec is parsed, or rejects with the parser's error.
 */
export async function render(el, text) {
  const SwaggerUIBundle = await load();
  const ui = SwaggerUIBundle({
    domNode: el,
    // No validator badge: it would load an image from validator.swagger.io.
    validatorUrl: null,
    deepLinking: false,
    // Swagger UI's own "try it out" sends the request from the browser.
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
  labelControls(el);
  ui.specActions.updateUrl('');
  ui.specActions.updateLoadingStatus('success');
  ui.specActions.updateSpec(text);
  // updateSpec parses YAML and JSON alike; a spec that is neither leaves
  // an error in the error selectors.
  const errs = ui.errSelectors.allErrors().toJS().filter((e) => e.source === 'parser');
  if (errs.length > 0) throw new Error(errs[0].message);
  return ui;
}

/**
 * labelControls gives Swagger UI's form controls that have no label of
 * their own (the parameter inputs of "Try it out", which Swagger UI
 * places beside a name cell without a <label>) an aria-label: the
 * parameter's name, else the control's placeholder. Swagger UI renders as
 * the user works, so a MutationObserver keeps up.
 */
function labelControls(root) {
  const fix = () => {
    for (const c of root.querySelectorAll('input:not([aria-label]), select:not([aria-label]), textarea:not([aria-label])')) {
      if (c.type === 'hidden' || c.labels.length > 0 || c.getAttribute('aria-labelledby')) continue;
      const row = c.closest('tr[data-param-name]');
      const name = row ? `${row.dataset.paramName} (${row.dataset.paramIn || 'parameter'})` : (c.getAttribute('placeholder') || c.getAttribute('title') || c.name);
      if (name) c.setAttribute('aria-label', name);
    }
  };
  new MutationObserver(fix).observe(root, { childList: true, subtree: true });
  fix();
}
