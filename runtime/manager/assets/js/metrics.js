// The dashboard's traffic figures, read from the node's Prometheus
// exposition (GET /metrics on the Admin API, served while the prometheus
// plugin is loaded): a small parser of Prometheus's text format (0.0.4)
// and the sums the dashboard shows. Parsing is done here, in the page:
// the Admin API has no JSON source of these numbers.

/**
 * parseMetrics reads Prometheus's text exposition format into samples
 * [{name, labels: {k: v}, value}]. Comment, HELP and TYPE lines and blank
 * lines are skipped; a line that does not parse is skipped too (a
 * dashboard shows what it can read), so is a sample with a duplicate
 * label name. Label values are unescaped (\\, \", \n); values are
 * numbers (+Inf, -Inf and NaN included); timestamps are ignored.
 */
export function parseMetrics(text) {
  const out = [];
  for (const raw of String(text).split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const s = parseSample(line);
    if (s) out.push(s);
  }
  return out;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

// parseSample reads one sample line, or returns null.
function parseSample(line) {
  let rest = line.trimStart();
  const m = NAME.exec(rest);
  if (!m) return null;
  const name = m[0];
  rest = rest.slice(name.length);
  const labels = Object.create(null);
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) { rest = rest.slice(1); break; }
      const l = LABEL.exec(rest);
      if (!l) return null;
      const key = l[0];
      rest = rest.slice(key.length).trimStart();
      if (!rest.startsWith('="')) return null;
      rest = rest.slice(2);
      let val = '';
      let closed = false;
      while (rest.length) {
        const c = rest[0];
        if (c === '\\') {
          const e = rest[1];
          if (e === undefined) return null;
          val += e === 'n' ? '\n' : e;
          rest = rest.slice(2);
        } else if (c === '"') {
          rest = rest.slice(1);
          closed = true;
          break;
        } else {
          val += c;
          rest = rest.slice(1);
        }
      }
      if (!closed || Object.prototype.hasOwnProperty.call(labels, key)) return null;
      labels[key] = val;
      rest = rest.trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) return null;
    }
  }
  if (rest && !/^[ \t]/.test(rest)) return null;
  const fields = rest.trim().split(/[ \t]+/);
  if (fields.length < 1 || fields.length > 2 || !fields[0]) return null;
  const value = parseValue(fields[0]);
  if (value === null) return null;
  if (fields.length === 2 && !/^-?[0-9]+$/.test(fields[1])) return null;
  return { name, labels, value };
}

// parseValue is a sample value as Prometheus writes it, or null.
function parseValue(s) {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) return null;
  return Number(s);
}

/**
 * traffic sums what the dashboard shows from samples:
 *   requests  kong_nginx_requests_total (every request on every listener),
 *   proxied   the sum of kong_http_requests_total (null when not exported:
 *             the plugin's status_code_metrics is off),
 *   classes   proxied requests by status class {'1xx'..'5xx': n},
 *   latency   from kong_request_latency_ms, kong_upstream_latency_ms and
 *             kong_kong_latency_ms (null when not exported): each
 *             {count, average, p95} in ms, p95 the upper bound of the
 *             bucket holding the 95th percentile (Infinity past the last),
 *   threats   the sum of gatehouse_threat_events_total (null when absent).
 */
export function traffic(samples) {
  const sum = (name) => {
    const hits = samples.filter((s) => s.name === name && Number.isFinite(s.value));
    return hits.length ? hits.reduce((a, s) => a + s.value, 0) : null;
  };
  const classes = {};
  for (const s of samples) {
    if (s.name !== 'kong_http_requests_total' || !Number.isFinite(s.value)) continue;
    const c = /^[1-5][0-9][0-9]$/.test(s.labels.code || '') ? `${s.labels.code[0]}xx` : 'other';
    classes[c] = (classes[c] || 0) + s.value;
  }
  const latency = {};
  for (const [key, name] of [['request', 'kong_request_latency_ms'], ['upstream', 'kong_upstream_latency_ms'], ['kong', 'kong_kong_latency_ms']]) {
    const l = histogram(samples, name);
    if (l) latency[key] = l;
  }
  return {
    requests: sum('kong_nginx_requests_total'),
    proxied: sum('kong_http_requests_total'),
    classes,
    latency: Object.keys(latency).length ? latency : null,
    threats: sum('gatehouse_threat_events_total'),
  };
}

// histogram merges every series of one histogram (all services and
// routes): {count, average, p95}, or null when it has no observations.
function histogram(samples, name) {
  let count = 0;
  let total = 0;
  const buckets = new Map(); // le -> cumulative count over every series
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    if (s.name === `${name}_count`) count += s.value;
    else if (s.name === `${name}_sum`) total += s.value;
    else if (s.name === `${name}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (Number.isNaN(le)) continue;
      buckets.set(le, (buckets.get(le) || 0) + s.value);
    }
  }
  if (!count) return null;
  const want = 0.95 * count;
  let p95 = Infinity;
  for (const le of [...buckets.keys()].sort((a, b) => a - b)) {
    if (buckets.get(le) >= want) { p95 = le; break; }
  }
  return { count, average: total / count, p95 };
}
