// Pure helpers of the dashboard: formatting, alert and silence logic, PromQL for the charts,
// and turning Prometheus' range results into uPlot's columns. No DOM here, so that
// `node --test collector/web/test/` checks them.

export const DASH = '\u2014';

const STATUSES = ['good', 'warning', 'critical', 'unknown'];

// A status from the API as a CSS class; anything unexpected is "unknown".
export function statusClass(status) {
  return STATUSES.includes(status) ? status : 'unknown';
}

export function isNumber(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

// A number from JSON or from Prometheus' string values ("1.5", "NaN"); null when not finite.
export function toNumber(v) {
  if (isNumber(v)) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

// The value at a dotted path of a JSON document, or undefined: get(doc, 'a.b.c').
export function get(doc, path) {
  let v = doc;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[key];
  }
  return v;
}

// 12 -> "12", 1234 -> "1,234", 1.2e6 -> "1.2M".
export function formatCount(v) {
  const n = toNumber(v);
  if (n === null) return DASH;
  if (Math.abs(n) >= 1e6) {
    return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
  }
  return new Intl.NumberFormat('en', { maximumFractionDigits: Number.isInteger(n) ? 0 : 2 }).format(n);
}

// A usage percentage (0..100): 45.26 -> "45.3%".
export function formatPercent(v) {
  const n = toNumber(v);
  return n === null ? DASH : `${n.toFixed(n >= 99.95 || n === 0 ? 0 : 1)}%`;
}

// A ratio (0..1) as a percentage: 0.02 -> "2.00%", 0 -> "0%".
export function formatRatio(v) {
  const n = toNumber(v);
  if (n === null) return DASH;
  if (n === 0) return '0%';
  const p = n * 100;
  return `${p.toFixed(p < 10 ? 2 : 1)}%`;
}

// Seconds as a duration: 0.5 -> "500 ms", 0.0123 -> "12.3 ms", 2 -> "2.00 s".
export function formatSeconds(v) {
  const n = toNumber(v);
  if (n === null) return DASH;
  const a = Math.abs(n);
  if (a === 0) return '0 ms';
  if (a < 1e-3) return `${(n * 1e6).toPrecision(3)} \u00b5s`;
  if (a < 1) return `${Number((n * 1e3).toPrecision(3))} ms`;
  if (a < 600) return `${n.toFixed(2)} s`;
  return `${(n / 60).toFixed(1)} min`;
}

// "5 s ago", "3 min ago", "2 h ago", "4 d ago" for an RFC 3339 time or milliseconds.
export function formatAgo(time, nowMs) {
  const t = typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(t)) return DASH;
  const s = Math.max(0, Math.round((nowMs - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// ---------------------------------------------------------------- alerts and silences

const SEVERITY_RANK = { critical: 0, page: 0, high: 1, error: 1, warning: 2, medium: 2, low: 3, info: 4 };

export function severityRank(severity) {
  return severity in SEVERITY_RANK ? SEVERITY_RANK[severity] : 5;
}

// A severity as a CSS class (the known ones; anything else is "other").
export function severityClass(severity) {
  return severity in SEVERITY_RANK ? `sev-${severity}` : 'sev-other';
}

// Firing before pending, then by severity, then oldest first, then by name.
export function sortAlerts(alerts) {
  const state = (a) => (a.state === 'firing' ? 0 : 1);
  return [...alerts].sort((a, b) =>
    state(a) - state(b) ||
    severityRank(a.labels?.severity) - severityRank(b.labels?.severity) ||
    String(a.activeAt ?? '').localeCompare(String(b.activeAt ?? '')) ||
    alertKey(a.labels).localeCompare(alertKey(b.labels)));
}

// One string per label set, the same whatever the order of the labels.
export function alertKey(labels) {
  return JSON.stringify(Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// The matchers that silence exactly this alert: each of its labels, equal (as Alertmanager's UI
// proposes for "Silence").
export function silenceMatchers(labels) {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value: String(value), isRegex: false, isEqual: true }));
}

// An Alertmanager v2 postable silence for `labels`, from now for `hours`.
export function silenceBody(labels, hours, nowMs, createdBy = 'dashboard') {
  return {
    matchers: silenceMatchers(labels),
    startsAt: new Date(nowMs).toISOString(),
    endsAt: new Date(nowMs + hours * 3600e3).toISOString(),
    createdBy,
    comment: `Silenced from the dashboard for ${hours} h`,
  };
}

// Alertmanager's matcher semantics: a missing label is the empty value; regexes are anchored.
export function matcherMatches(matcher, labels) {
  const value = String(labels?.[matcher.name] ?? '');
  let hit;
  if (matcher.isRegex) {
    try {
      hit = new RegExp(`^(?:${matcher.value})$`, 'u').test(value);
    } catch {
      return false;  // a pattern JavaScript cannot read: never claim it matches
    }
  } else {
    hit = value === matcher.value;
  }
  return matcher.isEqual === false ? !hit : hit;
}

// The active silence muting `labels`, or null.
export function activeSilenceFor(silences, labels) {
  for (const s of silences ?? []) {
    if (s?.status?.state !== 'active' || !Array.isArray(s.matchers) || s.matchers.length === 0) continue;
    if (s.matchers.every((m) => matcherMatches(m, labels))) return s;
  }
  return null;
}

// ---------------------------------------------------------------- charts

export const RANGES = { '1h': 3600, '6h': 6 * 3600, '24h': 24 * 3600 };

// query_range parameters for the last `range` (a RANGES key) ending at nowSec: about 360 points,
// and a rate window of four steps but at least a minute (two scrapes at the usual 15-30 s).
export function rangeParams(range, nowSec) {
  const seconds = RANGES[range] ?? RANGES['1h'];
  const step = Math.max(1, Math.round(seconds / 360));
  const end = Math.floor(nowSec / step) * step;
  return { start: end - seconds, end, step, window: `${Math.max(60, 4 * step)}s` };
}

// The charts' series: PromQL over the agent's API metrics, each query yielding one series.
export function chartQueries(window) {
  const rate = (selector) => `sum(rate(${selector}[${window}]))`;
  const quantile = (q) =>
    `histogram_quantile(${q}, sum by (le) (rate(mingus_api_request_duration_seconds_bucket[${window}])))`;
  const requests = rate('mingus_api_requests_total');
  const errors = rate('mingus_api_requests_total{status=~"5.."}');
  return {
    latency: [
      { label: 'p50', expr: quantile(0.5) },
      { label: 'p95', expr: quantile(0.95) },
      { label: 'p99', expr: quantile(0.99) },
    ],
    requests: [{ label: 'requests/s', expr: requests }],
    // No 5xx series yet means no errors: "or" supplies a zero wherever there were requests.
    errors: [{ label: 'error rate', expr: `(${errors} or ${requests} * 0) / ${requests}` }],
  };
}

// Prometheus matrix results (one per series of a chart, in order) as uPlot's aligned columns:
// [timestamps, values of series 1, ...], null where a series has no point. Several series in
// one result (not expected: the queries aggregate) are summed.
export function alignSeries(results) {
  const times = new Set();
  const maps = results.map((result) => {
    const map = new Map();
    for (const series of Array.isArray(result) ? result : []) {
      for (const [t, v] of series.values ?? []) {
        const n = toNumber(v);
        if (n === null) continue;
        times.add(t);
        map.set(t, (map.get(t) ?? 0) + n);
      }
    }
    return map;
  });
  const xs = [...times].sort((a, b) => a - b);
  return [xs, ...maps.map((map) => xs.map((t) => (map.has(t) ? map.get(t) : null)))];
}

// How many non-null points the aligned data holds, over all its series.
export function pointCount(data) {
  return data.slice(1).reduce((n, ys) => n + ys.filter((y) => y !== null).length, 0);
}
