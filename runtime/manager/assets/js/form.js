// Forms generated from the Admin API's schemas (Kong's format: a "fields"
// array of one-key objects, each with a type, default, one_of, required,
// nested "fields" for records and "elements" for arrays and sets).

import { h, id } from '../shared/dom.js';
import { request } from './api.js';

/** Fields a form never shows: set by the Admin API itself. */
const AUTO = new Set(['id', 'created_at', 'updated_at']);

/** fieldList turns a schema's fields array into [name, def] pairs. */
export function fieldList(schema) {
  const out = [];
  for (const f of (schema && schema.fields) || []) {
    for (const [name, def] of Object.entries(f)) out.push([name, def || {}]);
  }
  return out;
}

/**
 * mergePluginFields lays a plugin's own schema over the generic plugins
 * entity schema: the plugin's protocols, scoping fields and config win,
 * fields only the generic schema has (name, enabled, tags...) stay.
 */
export function mergePluginFields(generic, specific) {
  const own = new Map(fieldList(specific));
  const out = [];
  for (const [name, def] of fieldList(generic)) {
    if (own.has(name)) {
      out.push([name, own.get(name)]);
      own.delete(name);
    } else out.push([name, def]);
  }
  for (const [name, def] of own) out.push([name, def]);
  return out;
}

const labelOf = (e) => e.name || e.username || e.target || e.group || e.key || e.id;

/**
 * buildForm renders inputs for fields and returns the form's parts:
 * el (the fields), read() (the JSON body) and setErrors(kongErrorBody).
 * opts: values (the entity being edited), mode ('create' | 'edit'),
 * skip (field names set elsewhere), textareas (string fields shown as
 * multi-line).
 */
export function buildForm(fields, opts = {}) {
  const mode = opts.mode || 'create';
  const skip = new Set(opts.skip || []);
  const textareas = new Set(opts.textareas || []);
  const inputs = []; // {path, read, input, error}
  const byPath = new Map();

  function register(path, input, read, errorEl) {
    const rec = { path, read, input, error: errorEl };
    inputs.push(rec);
    byPath.set(path.join('.'), rec);
    return rec;
  }

  function hintAndError(path, def, extraHint) {
    const hintId = id(`hint-${path.join('.')}`);
    const errId = id(`err-${path.join('.')}`);
    const hints = [];
    if (def.description) hints.push(def.description);
    if (extraHint) hints.push(extraHint);
    const hint = hints.length ? h('span', { class: 'hint', id: hintId }, hints.join(' ')) : null;
    const error = h('span', { class: 'error', id: errId, hidden: true });
    const describedBy = [hint ? hintId : null, errId].filter(Boolean).join(' ');
    return { hint, error, describedBy };
  }

  function initial(path, def) {
    let v = opts.values;
    for (const p of path) v = v == null ? undefined : v[p];
    if (v === undefined && mode === 'create') v = def.default;
    return v;
  }

  // empty is what an empty input means: nothing on create, null on edit.
  const empty = () => (mode === 'create' ? undefined : null);

  function labelEl(forId, name, def) {
    return h('label', { for: forId }, name, def.required && def.default === undefined && !def.auto
      ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
  }

  function field(name, def, path) {
    const key = path.join('.');
    const inputId = id(`f-${key}`);
    const value = initial(path, def);
    const disabled = mode === 'edit' && def.immutable;
    const required = def.required && def.default === undefined && !def.auto;
    const type = def.type;

    if (type === 'record') {
      const legendId = id(`legend-${key}`);
      const children = (def.fields || []).flatMap((f) => Object.entries(f))
        .filter(([, d]) => !(d && d.eq === null))
        .map(([n, d]) => field(n, d || {}, path.concat(n)));
      const { error } = hintAndError(path, def);
      register(path, null, null, error);
      return h('fieldset', { 'aria-labelledby': legendId, 'data-field': key },
        h('legend', { id: legendId }, name), error, children);
    }

    if (type === 'boolean') {
      const { hint, error, describedBy } = hintAndError(path, def);
      if (def.default === undefined && !def.required) {
        const sel = h('select', { id: inputId, name: key, 'aria-describedby': describedBy, disabled },
          h('option', { value: '' }, '(not set)'), h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
        sel.value = value === true ? 'true' : value === false ? 'false' : '';
        register(path, sel, () => (sel.value === '' ? empty() : sel.value === 'true'), error);
        return h('div', { class: 'field', 'data-field': key }, labelEl(inputId, name, def), sel, hint, error);
      }
      const cb = h('input', { type: 'checkbox', id: inputId, name: key, checked: !!value, 'aria-describedby': describedBy, disabled });
      register(path, cb, () => cb.checked, error);
      return h('div', { class: 'field', 'data-field': key },
        h('div', { class: 'field check' }, cb, labelEl(inputId, name, def)), hint, error);
    }

    if ((type === 'array' || type === 'set') && def.elements && def.elements.one_of) {
      const { hint, error, describedBy } = hintAndError(path, def);
      const legendId = id(`legend-${key}`);
      const chosen = new Set(Array.isArray(value) ? value : []);
      const boxes = def.elements.one_of.map((opt) => {
        const bid = id(`f-${key}-${opt}`);
        const cb = h('input', { type: 'checkbox', id: bid, name: key, value: opt, checked: chosen.has(opt), disabled });
        return [cb, h('label', { for: bid }, cb, String(opt))];
      });
      register(path, boxes[0] && boxes[0][0], () => {
        const v = boxes.filter(([cb]) => cb.checked).map(([cb]) => cb.value);
        return v.length ? v : empty();
      }, error);
      return h('fieldset', { 'aria-labelledby': legendId, 'aria-describedby': describedBy, 'data-field': key },
        h('legend', { id: legendId }, name, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
        h('div', { class: 'choices' }, boxes.map(([, l]) => l)), hint, error);
    }

    if ((type === 'array' || type === 'set') && def.elements && ['string', 'integer', 'number'].includes(def.elements.type)) {
      const { hint, error, describedBy } = hintAndError(path, def, 'One value per line.');
      const ta = h('textarea', { id: inputId, name: key, rows: 2, 'aria-describedby': describedBy, disabled, 'aria-required': required ? 'true' : undefined },
      );
      ta.value = Array.isArray(value) ? value.join('\n') : '';
      const numeric = def.elements.type !== 'string';
      register(path, ta, () => {
        const lines = ta.value.split('\n').map((s) => s.trim()).filter((s) => s !== '');
        if (!lines.length) return empty();
        return numeric ? lines.map(Number) : lines;
      }, error);
      return h('div', { class: 'field', 'data-field': key }, labelEl(inputId, name, def), ta, hint, error);
    }

    if (type === 'foreign') {
      const { hint, error, describedBy } = hintAndError(path, def);
      const sel = h('select', { id: inputId, name: key, 'aria-describedby': describedBy, disabled, 'aria-required': required ? 'true' : undefined },
        h('option', { value: '' }, '(none)'));
      const current = value && value.id;
      if (current) sel.append(h('option', { value: current }, current));
      sel.value = current || '';
      if (def.reference) {
        request('GET', `/${def.reference}?size=1000`).then((res) => {
          for (const e of (res && res.data) || []) {
            if (e.id === current) { sel.querySelector(`option[value="${CSS.escape(current)}"]`).textContent = labelOf(e); continue; }
            sel.append(h('option', { value: e.id }, labelOf(e)));
          }
        }).catch(() => {});
      }
      register(path, sel, () => (sel.value === '' ? empty() : { id: sel.value }), error);
      return h('div', { class: 'field', 'data-field': key }, labelEl(inputId, name, def), sel, hint, error);
    }

    if (type === 'string' && def.one_of) {
      const { hint, error, describedBy } = hintAndError(path, def);
      const sel = h('select', { id: inputId, name: key, 'aria-describedby': describedBy, disabled, 'aria-required': required ? 'true' : undefined },
        required ? null : h('option', { value: '' }, '(not set)'),
        def.one_of.map((o) => h('option', { value: o }, String(o))));
      sel.value = value == null ? (required ? def.one_of[0] : '') : value;
      register(path, sel, () => (sel.value === '' ? empty() : sel.value), error);
      return h('div', { class: 'field', 'data-field': key }, labelEl(inputId, name, def), sel, hint, error);
    }

    if (type === 'string' || type === 'integer' || type === 'number') {
      const extra = def.auto ? 'Leave empty to have one generated.' : undefined;
      const { hint, error, describedBy } = hintAndError(path, def, extra);
      let input;
      if (type === 'string' && textareas.has(name)) {
        input = h('textarea', { id: inputId, name: key, rows: 6, 'aria-describedby': describedBy, disabled, 'aria-required': required ? 'true' : undefined });
      } else {
        const attrs = { id: inputId, name: key, 'aria-describedby': describedBy, disabled, 'aria-required': required ? 'true' : undefined, autocomplete: 'off' };
        if (type === 'string') attrs.type = def.encrypted ? 'password' : 'text';
        else {
          attrs.type = 'number';
          attrs.step = type === 'integer' ? '1' : 'any';
          if (def.between) { attrs.min = def.between[0]; attrs.max = def.between[1]; }
          if (def.gt !== undefined) attrs.min = def.gt;
        }
        input = h('input', attrs);
      }
      input.value = value == null ? '' : String(value);
      register(path, input, () => {
        const s = input.value;
        if (s === '') return empty();
        return type === 'string' ? s : Number(s);
      }, error);
      return h('div', { class: 'field', 'data-field': key }, labelEl(inputId, name, def), input, hint, error);
    }

    // map, arrays of records, json and anything else: JSON text.
    const { hint, error, describedBy } = hintAndError(path, def, 'JSON.');
    const ta = h('textarea', { id: inputId, name: key, rows: 4, 'aria-describedby': describedBy, disabled, 'aria-required': required ? 'true' : undefined });
    ta.value = value == null ? '' : JSON.stringify(value, null, 2);
    register(path, ta, () => {
      if (ta.value.trim() === '') return empty();
      try { return JSON.parse(ta.value); } catch (e) { throw new FieldError(key, `invalid JSON: ${e.message}`); }
    }, error);
    return h('div', { class: 'field', 'data-field': key }, labelEl(inputId, name, def), ta, hint, error);
  }

  const shown = fields.filter(([name, def]) => !AUTO.has(name) && !skip.has(name) && def.eq !== null);
  const el = h('div', { class: 'fields' }, shown.map(([name, def]) => field(name, def, [name])));

  function read() {
    clearErrors();
    const body = {};
    const problems = {};
    for (const rec of inputs) {
      if (!rec.read) continue;
      let v;
      try { v = rec.read(); } catch (e) {
        if (e instanceof FieldError) { problems[e.path] = e.message; continue; }
        throw e;
      }
      if (v === undefined) continue;
      let o = body;
      for (const p of rec.path.slice(0, -1)) o = (o[p] = o[p] && typeof o[p] === 'object' ? o[p] : {});
      o[rec.path[rec.path.length - 1]] = v;
    }
    if (mode === 'edit' && opts.values) {
      // PATCH only what changed: an untouched field is not re-validated
      // against checks it never took part in.
      for (const k of Object.keys(body)) {
        if (sameValue(body[k], opts.values[k])) delete body[k];
      }
    }
    if (Object.keys(problems).length) {
      const err = new Error('Some fields are not valid');
      err.fieldErrors = problems;
      showFieldErrors(problems);
      throw err;
    }
    return body;
  }

  function clearErrors() {
    for (const rec of inputs) {
      rec.error.hidden = true;
      rec.error.textContent = '';
      if (rec.input) rec.input.removeAttribute('aria-invalid');
    }
  }

  // showFieldErrors puts each message next to the field it names, or the
  // nearest enclosing record; returns the messages no field claimed.
  function showFieldErrors(flat) {
    const left = [];
    let first = null;
    for (const [path, msg] of Object.entries(flat)) {
      const parts = path.split('.');
      let rec = null;
      while (parts.length && !(rec = byPath.get(parts.join('.')))) parts.pop();
      if (!rec) { left.push(`${path}: ${msg}`); continue; }
      rec.error.hidden = false;
      rec.error.textContent = rec.error.textContent ? `${rec.error.textContent}; ${msg}` : msg;
      if (rec.input) {
        rec.input.setAttribute('aria-invalid', 'true');
        first = first || rec.input;
      }
    }
    if (first) first.focus();
    return left;
  }

  /** setErrors shows a Kong error body; returns the messages left over. */
  function setErrors(body) {
    clearErrors();
    const flat = flattenErrors((body && body.fields) || {});
    const entity = flat['@entity'];
    delete flat['@entity'];
    const left = showFieldErrors(flat);
    if (entity) left.unshift(...[].concat(entity));
    return left;
  }

  return { el, read, setErrors };
}

// norm maps the empty forms of a value (undefined, null, [], {} and
// records of nothing but those) to null, for comparison.
function norm(v) {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.length ? v.map(norm) : null;
  if (typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) {
      const n = norm(v[k]);
      if (n !== null) o[k] = n;
    }
    return Object.keys(o).length ? o : null;
  }
  return v;
}

/** sameValue tells whether a form value equals the entity's value. */
export function sameValue(a, b) {
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** FieldError is a value the browser could not turn into JSON. */
class FieldError extends Error {
  constructor(path, message) { super(message); this.path = path; }
}

/**
 * flattenErrors turns Kong's nested "fields" error object into
 * {"config.key_names": "message"}; array positions are reported on the
 * array itself; "@entity" (checks on the whole entity) stays a list.
 */
export function flattenErrors(fields, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(fields || {})) {
    if (k === '@entity') {
      out['@entity'] = [].concat(out['@entity'] || [], v);
      continue;
    }
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out[path] = v;
    else if (Array.isArray(v)) {
      const msgs = v.map((m, i) => (m == null ? null : typeof m === 'string' ? `item ${i + 1}: ${m}` : `item ${i + 1}: ${JSON.stringify(m)}`)).filter(Boolean);
      if (msgs.length) out[path] = msgs.join('; ');
    } else if (v && typeof v === 'object') flattenErrors(v, path, out);
  }
  return out;
}
