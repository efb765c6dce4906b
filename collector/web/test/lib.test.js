// node --test collector/web/test/: the dashboard's pure helpers.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DASH, activeSilenceFor, alertKey, alignSeries, chartQueries, formatAgo, formatCount,
  formatPercent, formatRatio, formatSeconds, get, matcherMatches, pointCount, rangeParams,
  severityClass, silenceBody, sortAlerts, statusClass, toNumber,
} from '../src/lib.js';

test('statuses outside the four known ones are unknown, never a class from the API', () => {
  assert.equal(statusClass('good'), 'good');
  assert.equal(statusClass('critical'), 'critical');
  assert.equal(statusClass('x" onmouseover="alert(1)'), 'unknown');
  assert.equal(statusClass(undefined), 'unknown');
  assert.equal(severityClass('critical'), 'sev-critical');
  assert.equal(severityClass('<b>'), 'sev-other');
});

test('numbers: JSON numbers and Prometheus strings; NaN, Inf and missing are a dash', () => {
  assert.equal(toNumber('1.5'), 1.5);
  assert.equal(toNumber('NaN'), null);
  assert.equal(toNumber('+Inf'), null);
  assert.equal(toNumber(''), null);
  assert.equal(toNumber(null), null);
  assert.equal(formatCount(1500), '1,500');
  assert.equal(formatCount(2.5), '2.5');
  assert.equal(formatCount(1234567), '1.2M');
  assert.equal(formatCount(undefined), DASH);
  assert.equal(formatPercent(45.26), '45.3%');
  assert.equal(formatPercent(0), '0%');
  assert.equal(formatPercent(100), '100%');
  assert.equal(formatPercent(null), DASH);
  assert.equal(formatRatio(0.02), '2.00%');
  assert.equal(formatRatio(0.5), '50.0%');
  assert.equal(formatRatio(0), '0%');
  assert.equal(formatSeconds(0.5), '500 ms');
  assert.equal(formatSeconds(0.0123), '12.3 ms');
  assert.equal(formatSeconds(0.0000421), '42.1 \u00b5s');
  assert.equal(formatSeconds(2), '2.00 s');
  assert.equal(formatSeconds(0), '0 ms');
  assert.equal(formatSeconds('NaN'), DASH);
});

test('formatAgo', () => {
  const now = Date.parse('2026-11-29T10:00:00Z');
  assert.equal(formatAgo('2026-11-29T09:59:55Z', now), '5 s ago');
  assert.equal(formatAgo('2026-11-29T09:57:00Z', now), '3 min ago');
  assert.equal(formatAgo('2026-11-29T07:00:00Z', now), '3 h ago');
  assert.equal(formatAgo('garbage', now), DASH);
});

test('get follows a dotted path and stops at anything not an object', () => {
  const doc = { a: { b: { c: 3 } }, s: 'x' };
  assert.equal(get(doc, 'a.b.c'), 3);
  assert.equal(get(doc, 'a.x.c'), undefined);
  assert.equal(get(doc, 's.length'), undefined);
  assert.equal(get(null, 'a'), undefined);
});

test('alerts sort firing first, then by severity, then oldest', () => {
  const alerts = [
    { state: 'pending', labels: { alertname: 'P', severity: 'critical' }, activeAt: '2026-01-01T00:00:00Z' },
    { state: 'firing', labels: { alertname: 'Low', severity: 'low' }, activeAt: '2026-01-01T00:00:00Z' },
    { state: 'firing', labels: { alertname: 'New', severity: 'critical' }, activeAt: '2026-01-02T00:00:00Z' },
    { state: 'firing', labels: { alertname: 'Old', severity: 'critical' }, activeAt: '2026-01-01T00:00:00Z' },
  ];
  assert.deepEqual(sortAlerts(alerts).map((a) => a.labels.alertname), ['Old', 'New', 'Low', 'P']);
  assert.equal(alertKey({ b: '1', a: '2' }), alertKey({ a: '2', b: '1' }));
});

test('a silence for an alert matches exactly its labels, in Alertmanager v2 shape', () => {
  const labels = { severity: 'high', alertname: 'HighRequestRate', instance: 'a:1' };
  const body = silenceBody(labels, 2, Date.parse('2026-11-29T10:00:00Z'));
  assert.deepEqual(body.matchers, [
    { name: 'alertname', value: 'HighRequestRate', isRegex: false, isEqual: true },
    { name: 'instance', value: 'a:1', isRegex: false, isEqual: true },
    { name: 'severity', value: 'high', isRegex: false, isEqual: true },
  ]);
  assert.equal(body.startsAt, '2026-11-29T10:00:00.000Z');
  assert.equal(body.endsAt, '2026-11-29T12:00:00.000Z');
  assert.equal(body.createdBy, 'dashboard');
  const silence = { id: '1', status: { state: 'active' }, matchers: body.matchers };
  assert.equal(activeSilenceFor([silence], labels), silence);
  assert.equal(activeSilenceFor([silence], { ...labels, instance: 'b:1' }), null);
  assert.equal(activeSilenceFor([{ ...silence, status: { state: 'expired' } }], labels), null);
});

test('matchers: equality, negation, anchored regexes, missing labels are empty', () => {
  const labels = { job: 'api', instance: 'host-1:9110' };
  assert.ok(matcherMatches({ name: 'job', value: 'api', isRegex: false, isEqual: true }, labels));
  assert.ok(!matcherMatches({ name: 'job', value: 'api', isRegex: false, isEqual: false }, labels));
  assert.ok(matcherMatches({ name: 'instance', value: 'host-.*', isRegex: true, isEqual: true }, labels));
  assert.ok(!matcherMatches({ name: 'instance', value: 'host', isRegex: true, isEqual: true }, labels));
  assert.ok(matcherMatches({ name: 'team', value: '', isRegex: false, isEqual: true }, labels));
  assert.ok(!matcherMatches({ name: 'job', value: '(', isRegex: true, isEqual: true }, labels));
});

test('range parameters: about 360 steps, a rate window of at least a minute', () => {
  assert.deepEqual(rangeParams('1h', 7205), { start: 3600, end: 7200, step: 10, window: '60s' });
  const day = rangeParams('24h', 1e9);
  assert.equal(day.step, 240);
  assert.equal(day.window, '960s');
  assert.equal(day.end - day.start, 86400);
  assert.equal(rangeParams('bogus', 7200).step, 10);
});

test('chart queries aggregate to one series each', () => {
  const q = chartQueries('60s');
  assert.equal(q.latency.length, 3);
  assert.match(q.latency[2].expr, /^histogram_quantile\(0\.99, sum by \(le\) \(rate\(mingus_api_request_duration_seconds_bucket\[60s\]\)\)\)$/);
  assert.match(q.errors[0].expr, /status=~"5\.\."/);
  assert.match(q.errors[0].expr, / or /);
});

test('range results align on the union of timestamps, with nulls for gaps and NaN', () => {
  const a = [{ metric: {}, values: [[10, '1'], [20, '2'], [30, 'NaN']] }];
  const b = [{ metric: {}, values: [[20, '5'], [40, '6']] }, { metric: { x: '1' }, values: [[20, '1']] }];
  const data = alignSeries([a, b, []]);
  assert.deepEqual(data, [[10, 20, 40], [1, 2, null], [null, 6, 6], [null, null, null]]);
  assert.equal(pointCount(data), 4);
  assert.deepEqual(alignSeries([undefined]), [[], []]);
});
