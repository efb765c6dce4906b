// The collector's live dashboard. Data comes from the collector's own API:
//   /api/monitoring/dashboard (tiles), pushed by the SSE stream /api/monitoring/stream, polled
//     when the stream is absent;
//   /api/v1/alerts and /api/monitoring/silences (the alert list and its silence buttons);
//   /api/v1/query_range (charts), /api/monitoring/system-health (hosts),
//   /api/monitoring/performance?hours=N (slowest endpoints and queries);
//   /api/monitoring/{insights,ux,db/report}: linked once they answer;
//   /api/monitoring/insights?days=30 (the business insights section).
//   /api/monitoring/ux?days=7&limit=10 (the UX section).
//   /api/monitoring/db/report (the database section).
// A missing or failing endpoint leaves its part showing a dash; nothing else stops.
import { h, fill, setText } from './dom.js';
import { LineChart } from './charts.js';
import {
  DASH, activeSilenceFor, alertKey, alignSeries, chartQueries, formatAgo, formatCount,
  formatPercent, formatRatio, formatSeconds, get, rangeParams, severityClass, silenceBody,
  sortAlerts, statusClass, toNumber,
} from './lib.js';

const POLL_MS = 5000;            // the dashboard document, while the stream is down
const STREAM_RETRY_MS = 30000;   // trying the stream again after the server refused it
const ALERTS_MS = 10000;         // alerts at least this often, besides after each stream event
const ALERTS_MIN_MS = 1000;      // and at most this often
const CHARTS_MS = 15000;
const PANELS_MS = 30000;         // hosts and slowest endpoints
const REPORTS_MS = 5 * 60000;

const REPORTS = [
  { path: '/api/monitoring/insights?days=30', title: 'Business insights' },
  { path: '/api/monitoring/ux', title: 'UX report' },
  { path: '/api/monitoring/db/report', title: 'Database report' },
];

const state = {
  range: '1h',
  mode: 'connecting',       // live | reconnecting | polling | offline
  dashboard: null,
  lastUpdate: 0,
  alerts: [],
  silences: [],
  silencesAvailable: null,  // null: not known yet
  silencing: new Set(),     // alert keys with a request in flight
  errors: {},               // part -> last error text
};

class HttpError extends Error {
  constructor(status, text) {
    super(`HTTP ${status}${text ? `: ${text}` : ''}`);
    this.status = status;
  }
}

async function fetchJson(url, options = {}) {
  const response = await fetch(url, { cache: 'no-store', ...options, headers: { Accept: 'application/json', ...options.headers } });
  if (!response.ok) {
    let reason = '';
    try { reason = (await response.json()).error ?? ''; } catch { /* not JSON */ }
    throw new HttpError(response.status, reason);
  }
  return response.json();
}

function noteError(part, error) {
  state.errors[part] = String(error?.message ?? error);
}

function clearError(part) {
  delete state.errors[part];
}

// ---------------------------------------------------------------- tiles

function setTile(name, status, value, sub) {
  const tile = document.getElementById(`tile-${name}`);
  if (tile) tile.className = `tile ${statusClass(status)}`;
  setText(`${name}-value`, value);
  if (sub !== undefined) setText(`${name}-sub`, sub);
}

function setMeter(name, percent) {
  const meter = document.getElementById(`${name}-meter`);
  if (!meter) return;
  const n = toNumber(percent);
  meter.style.width = n === null ? '0' : `${Math.min(100, Math.max(0, n))}%`;
}

function renderDashboard(doc) {
  const overall = doc?.overall_status;
  const badge = document.getElementById('overall-badge');
  if (badge) {
    badge.className = `badge ${statusClass(overall)}`;
    badge.textContent = doc ? statusClass(overall) : 'unknown';
  }
  const active = toNumber(get(doc, 'alerts.active_alerts'));
  setTile('overall', overall, doc ? statusClass(overall) : DASH,
    active === null ? DASH : `${formatCount(active)} active alert${active === 1 ? '' : 's'}`);

  const known = (part) => statusClass(part.status) !== 'unknown';
  const api = get(doc, 'performance.api_performance') ?? {};
  setTile('api', api.status, known(api) ? formatSeconds(api.avg_response_time) : DASH,
    `${formatCount(api.total_requests)} requests \u00b7 ${formatRatio(api.error_rate)} errors`);

  const db = get(doc, 'performance.database_performance') ?? {};
  setTile('database', db.status, known(db) ? formatSeconds(db.avg_execution_time) : DASH,
    `${formatCount(db.total_queries)} queries \u00b7 ${formatCount(db.slow_queries)} slow`);

  for (const name of ['cpu', 'memory', 'disk']) {
    const part = get(doc, `system_health.${name}`) ?? {};
    setTile(name, part.status, figure(part).text);
    setMeter(name, known(part) ? part.usage_percent : null);
  }
}

function onDashboard(doc) {
  state.dashboard = doc;
  state.lastUpdate = Date.now();
  clearError('dashboard');
  renderDashboard(doc);
  renderUpdated();
  refreshAlertsSoon();
}

function renderUpdated() {
  setText('updated', state.lastUpdate ? `updated ${new Date(state.lastUpdate).toLocaleTimeString()}` : '');
}

function setMode(mode) {
  state.mode = mode;
  const node = document.getElementById('conn');
  if (!node) return;
  node.className = `conn-state ${mode}`;
  node.textContent = { live: 'live', reconnecting: 'reconnecting\u2026', polling: `polling every ${POLL_MS / 1000} s`, offline: 'offline', connecting: 'connecting' }[mode] ?? mode;
}

// ---------------------------------------------------------------- stream and polling

let pollTimer = null;
let source = null;

async function pollDashboard() {
  try {
    onDashboard(await fetchJson('/api/monitoring/dashboard'));
    if (state.mode !== 'live') setMode('polling');
  } catch (error) {
    noteError('dashboard', error);
    if (!state.dashboard) renderDashboard(null);
    if (state.mode !== 'live') setMode(error instanceof HttpError ? 'polling' : 'offline');
  }
}

function startPolling() {
  if (pollTimer !== null) return;
  pollDashboard();
  pollTimer = setInterval(() => { if (!document.hidden) pollDashboard(); }, POLL_MS);
}

function stopPolling() {
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
}

function connectStream() {
  if (typeof EventSource === 'undefined') {
    startPolling();
    return;
  }
  source = new EventSource('/api/monitoring/stream');
  source.addEventListener('open', () => {
    setMode('live');
    stopPolling();
  });
  source.addEventListener('dashboard', (event) => {
    let doc;
    try {
      doc = JSON.parse(event.data);
    } catch {
      noteError('stream', 'an event that is not JSON');
      return;
    }
    setMode('live');
    onDashboard(doc);
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (no such path, or not an event stream): poll, and try the stream later.
      source.close();
      source = null;
      setMode('polling');
      startPolling();
      setTimeout(connectStream, STREAM_RETRY_MS);
    } else {
      // The browser reconnects by itself; keep the page fresh meanwhile.
      setMode('reconnecting');
      startPolling();
    }
  });
}

// ---------------------------------------------------------------- alerts and silences

let alertsTimer = null;
let alertsInFlight = false;
let alertsLast = 0;

function refreshAlertsSoon() {
  if (alertsTimer !== null) return;
  const wait = Math.max(0, alertsLast + ALERTS_MIN_MS - Date.now());
  alertsTimer = setTimeout(() => {
    alertsTimer = null;
    refreshAlerts();
  }, wait);
}

async function refreshAlerts() {
  if (alertsInFlight) return;
  alertsInFlight = true;
  alertsLast = Date.now();
  try {
    const [alerts] = await Promise.all([
      fetchJson('/api/v1/alerts').then((body) => body?.data?.alerts ?? []),
      refreshSilences(),
    ]);
    state.alerts = Array.isArray(alerts) ? alerts : [];
    clearError('alerts');
  } catch (error) {
    noteError('alerts', error);
  } finally {
    alertsInFlight = false;
  }
  renderAlerts();
}

async function refreshSilences() {
  if (state.silencesAvailable === false) return;
  try {
    const silences = await fetchJson('/api/monitoring/silences');
    state.silences = Array.isArray(silences) ? silences : [];
    state.silencesAvailable = true;
  } catch (error) {
    // 404: the collector runs without notify.yaml, so there is nothing to silence.
    if (error instanceof HttpError && error.status === 404) state.silencesAvailable = false;
    else noteError('silences', error);
  }
}

function renderAlerts() {
  const alerts = sortAlerts(state.alerts);
  setText('alerts-count', String(alerts.length));
  const empty = document.getElementById('alerts-empty');
  if (empty) {
    empty.hidden = alerts.length > 0;
    empty.textContent = state.errors.alerts ? `Alerts unavailable (${state.errors.alerts}).` : 'No alerts are pending or firing.';
  }
  const note = document.getElementById('alerts-note');
  if (note) {
    const text = state.silencesAvailable === false
      ? 'Silences need notifications: start the collector with alerting.notify_config_file.'
      : state.errors.silence ? `Could not change the silence: ${state.errors.silence}` : '';
    note.hidden = text === '';
    note.textContent = text;
  }
  const label = document.getElementById('silence-for-label');
  if (label) label.hidden = state.silencesAvailable === false;
  const now = Date.now();
  fill('alerts', alerts.map((alert) => renderAlert(alert, now)));
}

function renderAlert(alert, now) {
  const labels = alert.labels ?? {};
  const annotations = alert.annotations ?? {};
  const key = alertKey(labels);
  const severity = labels.severity ?? '';
  const silence = state.silencesAvailable ? activeSilenceFor(state.silences, labels) : null;
  const others = Object.entries(labels)
    .filter(([name]) => name !== 'alertname' && name !== 'severity')
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const summary = annotations.summary ?? annotations.description ?? annotations.message ?? '';
  const description = annotations.summary && annotations.description ? annotations.description : '';

  let action = null;
  if (state.silencesAvailable) {
    action = silence
      ? h('button', { type: 'button', class: 'btn unsilence', 'data-action': 'unsilence', disabled: state.silencing.has(key), onclick: () => expireSilence(key, silence.id) }, 'Unsilence')
      : h('button', { type: 'button', class: 'btn silence', 'data-action': 'silence', disabled: state.silencing.has(key), onclick: () => silenceAlert(key, labels) }, 'Silence');
  }
  return h('li', { class: `alert ${alert.state === 'firing' ? 'firing' : 'pending'} ${severityClass(severity)}${silence ? ' silenced' : ''}`, dataset: { alertname: labels.alertname ?? '', state: alert.state ?? '' } },
    h('div', { class: 'alert-main' },
      h('div', { class: 'alert-title' },
        h('span', { class: 'sev' }, severity || 'none'),
        h('strong', { class: 'alertname' }, labels.alertname ?? '(no name)'),
        h('span', { class: `state ${alert.state === 'firing' ? 'firing' : 'pending'}` }, alert.state ?? ''),
        silence ? h('span', { class: 'state silenced', title: `by ${silence.createdBy ?? ''}: ${silence.comment ?? ''}` }, `silenced until ${new Date(silence.endsAt).toLocaleString()}`) : null),
      summary ? h('p', { class: 'summary' }, summary) : null,
      description ? h('p', { class: 'description muted' }, description) : null,
      h('div', { class: 'labels' }, others.map(([name, value]) => h('span', { class: 'chip' }, `${name}=${value}`))),
      h('p', { class: 'meta muted' },
        `active since ${formatAgo(alert.activeAt, now)}`,
        alert.value !== undefined ? ` \u00b7 value ${formatValue(alert.value)}` : '')),
    action);
}

// An alert's value as Prometheus writes it ("7.3333333e+01") with four significant digits.
function formatValue(value) {
  const n = toNumber(value);
  return n === null ? String(value) : String(Number(n.toPrecision(4)));
}

async function silenceAlert(key, labels) {
  const hours = Number(document.getElementById('silence-hours')?.value ?? 1) || 1;
  state.silencing.add(key);
  renderAlerts();
  try {
    await fetchJson('/api/monitoring/silences', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(silenceBody(labels, hours, Date.now())),
    });
    clearError('silence');
  } catch (error) {
    noteError('silence', error);
  } finally {
    state.silencing.delete(key);
  }
  await refreshAlerts();
}

async function expireSilence(key, id) {
  state.silencing.add(key);
  renderAlerts();
  try {
    const response = await fetch(`/api/monitoring/silences/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (!response.ok) throw new HttpError(response.status);
  } catch (error) {
    noteError('silence', error);
  } finally {
    state.silencing.delete(key);
  }
  await refreshAlerts();
}

// ---------------------------------------------------------------- charts

const COLORS = { p50: '#2f80ed', p95: '#f2994a', p99: '#eb5757', rate: '#27ae60', errors: '#eb5757' };
const charts = {};

function percentOfRatio(v) {
  return formatRatio(v);
}

function createCharts() {
  const box = (id) => document.getElementById(id);
  charts.latency = new LineChart(box('chart-latency'),
    [{ label: 'p50', color: COLORS.p50 }, { label: 'p95', color: COLORS.p95 }, { label: 'p99', color: COLORS.p99 }],
    formatSeconds);
  charts.requests = new LineChart(box('chart-requests'), [{ label: 'requests/s', color: COLORS.rate }],
    (v) => (v === null ? DASH : formatCount(Number(v.toPrecision(3)))));
  charts.errors = new LineChart(box('chart-errors'), [{ label: 'error rate', color: COLORS.errors }], percentOfRatio);
}

let chartsGeneration = 0;

async function refreshCharts() {
  const generation = ++chartsGeneration;
  const params = rangeParams(state.range, Date.now() / 1000);
  const queries = chartQueries(params.window);
  const run = (expr) => {
    const qs = new URLSearchParams({ query: expr, start: String(params.start), end: String(params.end), step: String(params.step) });
    return fetchJson(`/api/v1/query_range?${qs}`).then((body) => body?.data?.result ?? []);
  };
  await Promise.all(Object.entries(queries).map(async ([name, series]) => {
    try {
      const results = await Promise.all(series.map((s) => run(s.expr)));
      if (generation !== chartsGeneration) return;  // a newer range was chosen meanwhile
      charts[name].set(alignSeries(results));
      clearError(`chart-${name}`);
    } catch (error) {
      noteError(`chart-${name}`, error);
      if (generation === chartsGeneration) charts[name].set([[], ...series.map(() => [])]);
    }
  }));
}

function chooseRange(range) {
  state.range = range;
  for (const button of document.querySelectorAll('[data-range]')) {
    button.setAttribute('aria-pressed', String(button.dataset.range === range));
  }
  refreshCharts();
  refreshPerformance();
}

// ---------------------------------------------------------------- hosts

function pick(object, ...keys) {
  for (const key of keys) {
    const v = object?.[key];
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

// A figure {usage_percent, status}: a dash while its status is unknown (no data yet).
function figure(part) {
  const status = statusClass(part?.status);
  return { status, text: status === 'unknown' ? DASH : formatPercent(part?.usage_percent) };
}

function cell(part) {
  const f = figure(part);
  return h('td', { class: `num status-cell ${f.status}` }, f.text);
}

async function refreshHosts() {
  let doc;
  try {
    doc = await fetchJson('/api/monitoring/system-health');
    clearError('hosts');
  } catch (error) {
    noteError('hosts', error);
    fill('hosts', h('p', { class: 'muted' }, `${DASH} (${error.message})`));
    return;
  }
  const hosts = Array.isArray(doc?.hosts) ? doc.hosts : [];
  if (hosts.length === 0) {
    fill('hosts', h('p', { class: 'muted' }, 'No hosts reporting yet.'));
    return;
  }
  fill('hosts', h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Host'), h('th', { class: 'num' }, 'CPU'), h('th', { class: 'num' }, 'Memory'), h('th', { class: 'num' }, 'Disk'), h('th', {}, 'Status'))),
    h('tbody', {}, hosts.map((host) => {
      const status = statusClass(host.status);
      return h('tr', { dataset: { instance: String(host.instance ?? '') } },
        h('td', { class: 'host' }, String(host.instance ?? DASH),
          host.up === false ? h('span', { class: 'badge critical down' }, 'down') : null),
        cell(host.cpu), cell(host.memory), cell(host.disk),
        h('td', {}, h('span', { class: `badge ${status}` }, status)));
    }))));
}

// ---------------------------------------------------------------- slowest endpoints and queries

function rowsOf(doc, paths) {
  for (const path of paths) {
    const v = get(doc, path);
    if (Array.isArray(v)) return v;
  }
  return [];
}

function renderTable(id, rows, columns, emptyText) {
  if (rows.length === 0) {
    fill(id, h('p', { class: 'muted' }, emptyText));
    return;
  }
  fill(id, h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : '' }, c.title)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : c.cls ?? '', title: c.full ? String(c.value(row) ?? '') : null }, c.format(c.value(row)))))))));
}

async function refreshPerformance() {
  const hours = { '1h': 1, '6h': 6, '24h': 24 }[state.range];
  setText('slow-range', `last ${hours} h`);
  let doc;
  try {
    doc = await fetchJson(`/api/monitoring/performance?hours=${hours}`);
    clearError('performance');
  } catch (error) {
    noteError('performance', error);
    fill('slow-endpoints', h('p', { class: 'muted' }, `${DASH} (${error.message})`));
    fill('slow-queries', h('p', { class: 'muted' }, `${DASH} (${error.message})`));
    return;
  }
  const p95 = (row) => toNumber(pick(row, 'p95_response_time', 'p95'));
  const endpoints = rowsOf(doc, ['api.endpoints', 'endpoints'])
    .slice().sort((a, b) => (p95(b) ?? -1) - (p95(a) ?? -1)).slice(0, 10);
  const text = (v) => (v === undefined || v === null || v === '' ? DASH : String(v));
  renderTable('slow-endpoints', endpoints, [
    { title: 'Endpoint', cls: 'code', value: (r) => `${pick(r, 'method') ?? ''} ${pick(r, 'endpoint') ?? ''}`.trim(), format: text, full: true },
    { title: 'Requests', num: true, value: (r) => pick(r, 'requests', 'count'), format: formatCount },
    { title: 'Avg', num: true, value: (r) => pick(r, 'avg_response_time', 'avg'), format: formatSeconds },
    { title: 'p95', num: true, value: p95, format: formatSeconds },
    { title: 'p99', num: true, value: (r) => pick(r, 'p99_response_time', 'p99'), format: formatSeconds },
    { title: 'Errors', num: true, value: (r) => pick(r, 'error_rate'), format: formatRatio },
  ], 'No API requests in this range.');
  const queries = rowsOf(doc, ['database.slowest_queries', 'slow_queries']).slice(0, 10);
  renderTable('slow-queries', queries, [
    { title: 'Query', cls: 'code', value: (r) => pick(r, 'fingerprint', 'query'), format: text, full: true },
    { title: 'Calls', num: true, value: (r) => pick(r, 'calls', 'count'), format: formatCount },
    { title: 'Avg', num: true, value: (r) => pick(r, 'avg_execution_time', 'avg'), format: formatSeconds },
    { title: 'Total', num: true, value: (r) => pick(r, 'total_time'), format: formatSeconds },
  ], 'No slow queries in this range.');
}

// ---------------------------------------------------------------- business insights

const INSIGHTS_DAYS = 30;
const INSIGHTS_PARTS = ['insights-figures', 'insights-features', 'insights-retention', 'insights-anomalies'];

// The insights report's headline figures and tables (docs/insights.md defines each figure).
async function refreshInsights() {
  let doc;
  try {
    doc = await fetchJson(`/api/monitoring/insights?days=${INSIGHTS_DAYS}`);
    clearError('insights');
  } catch (error) {
    noteError('insights', error);
    for (const id of INSIGHTS_PARTS) fill(id, h('p', { class: 'muted' }, `${DASH} (${error.message})`));
    return;
  }
  setText('insights-range', `last ${INSIGHTS_DAYS} days, ${doc.from} to ${doc.to}`);
  const active = doc.active_users ?? {};
  const satisfaction = doc.satisfaction ?? {};
  const sentiment = satisfaction.sentiment ?? {};
  const figures = [
    ['Registrations', doc.registrations, formatCount],
    ['Average DAU', active.average_dau, formatCount],
    ['MAU', active.mau, formatCount],
    ['Stickiness (DAU / MAU)', active.stickiness, formatRatio],
    ['NPS', satisfaction.nps?.score, formatCount],
    ['CSAT', satisfaction.csat?.score, formatPercent],
    ['Comments positive / negative', sentiment.comments ? `${sentiment.positive} / ${sentiment.negative}` : null, (v) => v ?? DASH],
  ].map(([name, value, format]) => ({ name, text: format(value) }));
  renderTable('insights-figures', figures, [
    { title: 'Figure', value: (r) => r.name, format: String },
    { title: 'Value', num: true, value: (r) => r.text, format: String },
  ], 'No data.');
  renderTable('insights-features', rowsOf(doc, ['features']).slice(0, 8), [
    { title: 'Feature', value: (r) => r.feature, format: String },
    { title: 'Users', num: true, value: (r) => r.users, format: formatCount },
    { title: 'Adoption', num: true, value: (r) => r.adoption, format: formatRatio },
    { title: 'Change', num: true, value: (r) => r.users_change, format: formatRatio },
  ], 'No feature events in this period.');
  const rate = (n) => (r) => r[`day_${n}`]?.rate;
  renderTable('insights-retention', rowsOf(doc, ['retention']).filter((c) => c.users > 0), [
    { title: 'Week of', value: (r) => r.week, format: String },
    { title: 'Users', num: true, value: (r) => r.users, format: formatCount },
    { title: 'Day 1', num: true, value: rate(1), format: formatRatio },
    { title: 'Day 7', num: true, value: rate(7), format: formatRatio },
    { title: 'Day 30', num: true, value: rate(30), format: formatRatio },
  ], 'No registrations in this period.');
  renderTable('insights-anomalies', rowsOf(doc, ['anomalies']), [
    { title: 'Day', value: (r) => r.date, format: String },
    { title: 'Figure', value: (r) => r.metric, format: String },
    { title: 'Value', num: true, value: (r) => r.value, format: formatCount },
    { title: 'Usual', num: true, value: (r) => r.mean, format: formatCount },
  ], 'No day far from the two weeks before it.');
}

// ---------------------------------------------------------------- UX report

const UX_DAYS = 7;
const UX_PARTS = ['ux-pages', 'ux-elements', 'ux-funnels', 'ux-experiments', 'ux-recommendations'];

// The UX report's pages, clicks, funnels, experiments and recommendations (docs/ux.md).
async function refreshUx() {
  let doc;
  try {
    doc = await fetchJson(`/api/monitoring/ux?days=${UX_DAYS}&limit=10`);
    clearError('ux');
  } catch (error) {
    noteError('ux', error);
    for (const id of UX_PARTS) fill(id, h('p', { class: 'muted' }, `${DASH} (${error.message})`));
    return;
  }
  const totals = doc.totals ?? {};
  setText('ux-range', `last ${UX_DAYS} days, ${formatCount(totals.sessions)} sessions, ${formatCount(totals.clicks)} clicks`);
  renderTable('ux-pages', rowsOf(doc, ['pages']), [
    { title: 'Page', cls: 'code', value: (r) => r.page, format: String, full: true },
    { title: 'Views', num: true, value: (r) => r.views, format: formatCount },
    { title: 'Bounce', num: true, value: (r) => (r.entries > 0 ? r.bounce_rate : null), format: formatRatio },
    { title: 'Median dwell', num: true, value: (r) => (r.dwell?.measured > 0 ? r.dwell.median_seconds : null), format: formatSeconds },
  ], 'No interactions in this period.');
  renderTable('ux-elements', rowsOf(doc, ['elements']), [
    { title: 'Element', cls: 'code', value: (r) => `${r.page} ${r.element}`, format: String, full: true },
    { title: 'Clicks', num: true, value: (r) => r.clicks, format: formatCount },
    { title: 'Share', num: true, value: (r) => r.share, format: formatRatio },
    { title: 'Rage', num: true, value: (r) => r.rage_clicks, format: formatCount },
    { title: 'Dead', num: true, value: (r) => r.dead_click_rate, format: formatRatio },
  ], 'No clicks in this period.');
  const steps = rowsOf(doc, ['funnels']).flatMap((f) => f.steps.map((s, i) => ({ funnel: i === 0 ? f.name : '', ...s })));
  renderTable('ux-funnels', steps, [
    { title: 'Funnel', value: (r) => r.funnel, format: String },
    { title: 'Step', value: (r) => r.name, format: String, full: true },
    { title: 'Reached', num: true, value: (r) => r.reached, format: formatCount },
    { title: 'From previous', num: true, value: (r) => r.conversion_from_previous, format: formatRatio },
    { title: 'Median time', num: true, value: (r) => r.median_seconds_from_previous, format: formatSeconds },
  ], 'No funnels configured (collector.yaml, funnels:).');
  const variants = rowsOf(doc, ['experiments']).flatMap((e) => e.variants.map((v, i) => ({
    experiment: i === 0 ? `${e.name}: ${e.winner ? `${e.winner} wins` : e.status.replaceAll('_', ' ')}` : '', ...v })));
  renderTable('ux-experiments', variants, [
    { title: 'Experiment', value: (r) => r.experiment, format: String },
    { title: 'Variant', value: (r) => (r.control ? `${r.name} (control)` : r.name), format: String },
    { title: 'Exposed', num: true, value: (r) => r.exposures, format: formatCount },
    { title: 'Rate', num: true, value: (r) => r.conversion_rate, format: formatRatio },
    { title: 'Lift', num: true, value: (r) => r.vs_control?.relative_lift, format: formatRatio },
    { title: 'p', num: true, value: (r) => r.vs_control?.p_value, format: (v) => (v === undefined || v === null ? DASH : v.toPrecision(2)) },
  ], 'No experiments in this period.');
  renderTable('ux-recommendations', rowsOf(doc, ['recommendations']), [
    { title: 'Rule', value: (r) => r.rule.replaceAll('_', ' '), format: String },
    { title: 'Recommendation', value: (r) => r.message, format: String, full: true },
  ], 'Nothing stands out.');
}

// ---------------------------------------------------------------- database

const DB_ROWS = 10;
const DB_PARTS = ['db-digests', 'db-suggestions', 'db-hints'];

function verdict(verification) {
  if (!verification) return 'no database';
  if (verification.verified) return 'yes';
  return verification.capped ? 'capped' : 'no';
}

// The database optimizer's report (docs/db-optimizer.md): the fingerprints with the most time
// (the report's order), their index suggestions and the rewrite hints.
async function refreshDb() {
  let doc;
  try {
    doc = await fetchJson('/api/monitoring/db/report');
    clearError('db');
  } catch (error) {
    noteError('db', error);
    for (const id of DB_PARTS) fill(id, h('p', { class: 'muted' }, `${DASH} (${error.message})`));
    return;
  }
  const seconds = (ms) => (ms === undefined || ms === null ? null : ms / 1000);
  setText('db-range', `since ${doc.since}, ${formatCount(doc.events)} queries, slow from ${formatSeconds(seconds(doc.slow_threshold_ms))}`);
  const fingerprints = rowsOf(doc, ['fingerprints']);
  renderTable('db-digests', fingerprints.slice(0, DB_ROWS), [
    { title: 'Query', cls: 'code', value: (r) => r.sample, format: String, full: true },
    { title: 'Runs', num: true, value: (r) => r.count, format: formatCount },
    { title: 'Total', num: true, value: (r) => seconds(r.total_ms), format: formatSeconds },
    { title: 'p95', num: true, value: (r) => seconds(r.p95_ms), format: formatSeconds },
    { title: 'Slow', value: (r) => (r.slow ? 'slow' : ''), format: String },
  ], 'No db events in this window.');
  const suggestions = fingerprints.flatMap((f) => f.suggestions);
  renderTable('db-suggestions', suggestions.slice(0, DB_ROWS), [
    { title: 'Index', cls: 'code', value: (r) => r.statement, format: String, full: true },
    { title: 'Verified', value: (r) => verdict(r.verification), format: String },
    { title: 'Why not', value: (r) => (r.verification?.verified ? '' : r.verification?.reason ?? ''), format: String, full: true },
    { title: 'Speed-up', num: true, value: (r) => (r.verification?.verified ? r.verification.speedup : null), format: (v) => (v === undefined || v === null ? DASH : `${v.toFixed(1)}x`) },
  ], 'No index suggestion: no slow query an index would serve.');
  const hints = fingerprints.flatMap((f) => f.hints.map((hint) => ({ sample: f.sample, ...hint })));
  renderTable('db-hints', hints.slice(0, DB_ROWS), [
    { title: 'Query', cls: 'code', value: (r) => r.sample, format: String, full: true },
    { title: 'Hint', value: (r) => r.id.replaceAll('_', ' '), format: String },
    { title: 'Why', value: (r) => r.explanation, format: String, full: true },
  ], 'No rewrite hint.');
}

// ---------------------------------------------------------------- report links

async function refreshReports() {
  const found = await Promise.all(REPORTS.map(async (report) => {
    try {
      const response = await fetch(report.path, { method: 'HEAD', cache: 'no-store' });
      return response.status === 200 ? report : null;
    } catch {
      return null;
    }
  }));
  const available = found.filter(Boolean);
  const nav = fill('reports', available.map((r) => h('a', { href: r.path, class: 'report-link' }, r.title)));
  if (nav) nav.hidden = available.length === 0;
}

// ---------------------------------------------------------------- start

function every(ms, fn) {
  setInterval(() => { if (!document.hidden) fn(); }, ms);
}

function start() {
  for (const button of document.querySelectorAll('[data-range]')) {
    button.addEventListener('click', () => chooseRange(button.dataset.range));
  }
  renderDashboard(null);
  createCharts();
  connectStream();
  // The stream's first event comes on connect; until then (or without a stream) ask once.
  pollDashboard();
  refreshAlerts();
  refreshCharts();
  refreshHosts();
  refreshPerformance();
  refreshReports();
  refreshInsights();
  refreshUx();
  refreshDb();
  every(ALERTS_MS, refreshAlertsSoon);
  every(REPORTS_MS, refreshUx);
  every(CHARTS_MS, refreshCharts);
  every(PANELS_MS, () => { refreshHosts(); refreshPerformance(); });
  every(REPORTS_MS, () => { refreshReports(); refreshInsights(); refreshDb(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) { refreshAlertsSoon(); refreshCharts(); } });
}

// For tests and the curious: the page's state and its charts.
window.mingusDashboard = { state, charts, refreshAlerts, refreshCharts, refreshDb };

start();
