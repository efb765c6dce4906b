// The collector's dashboard in Debian's Chromium, driven by playwright-core.
//
//   node tests/browser/dashboard.mjs --url http://127.0.0.1:PORT --modules BUILD/tests/browser/node_modules
//        --alertname NAME --out DIR [--chromium /usr/bin/chromium] [--expect-tiles] [--expect-silences]
//        [--expect-stream]
//        [--timeout-ms 60000]
//
// Loads the page, checks that the tiles show numbers and the charts draw, prints "PAGE_READY" and
// waits for the alert NAME to show up firing WITHOUT a reload (the caller makes it fire after
// reading that line), silences it with its button, checks that the page holds no injected
// markup and logged no console error, and saves screenshots at laptop and phone widths into
// DIR. Prints "PASS: ..." / "FAIL: ... -- detail" per check, "SILENCE_ID <id>" and
// "SCREENSHOT <path>"; exits 1 when a check failed.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

function parseArgs(argv) {
  const args = { chromium: '/usr/bin/chromium', timeoutMs: 60000, expectTiles: false, expectSilences: false, expectStream: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--url') args.url = next();
    else if (a === '--modules') args.modules = next();
    else if (a === '--alertname') args.alertname = next();
    else if (a === '--out') args.out = next();
    else if (a === '--chromium') args.chromium = next();
    else if (a === '--timeout-ms') args.timeoutMs = Number(next());
    else if (a === '--expect-tiles') args.expectTiles = true;
    else if (a === '--expect-silences') args.expectSilences = true;
    else if (a === '--expect-stream') args.expectStream = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const key of ['url', 'modules', 'alertname', 'out']) {
    if (!args[key]) throw new Error(`--${key} is required`);
  }
  const url = new URL(args.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing non-loopback URL ${args.url}`);
  return args;
}

const args = parseArgs(process.argv.slice(2));
const require = createRequire(path.join(path.resolve(args.modules), 'noop.js'));
const { chromium } = require('playwright-core');

let failures = 0;
function pass(name) {
  console.log(`PASS: ${name}`);
}
function fail(name, detail) {
  failures++;
  console.log(`FAIL: ${name} -- ${String(detail).replace(/\s+/g, ' ').slice(0, 600)}`);
}
async function check(name, fn) {
  try {
    await fn();
    pass(name);
    return true;
  } catch (error) {
    fail(name, error?.message ?? error);
    return false;
  }
}

const TILES = ['api', 'database', 'cpu', 'memory', 'disk'];
// Chrome logs a failed fetch as a console error: the report links are probed by design and
// may answer 404 until those endpoints exist.
const EXPECTED_404 = ['/api/monitoring/insights', '/api/monitoring/ux', '/api/monitoring/db/report'];

function watchConsole(page, label, errors) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url ?? '';
    if (EXPECTED_404.some((p) => where.endsWith(p)) && msg.text().includes('404')) return;
    errors.push(`${label}: ${msg.text()} (${where})`);
  });
  page.on('pageerror', (error) => errors.push(`${label}: uncaught ${error.message}`));
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? '';
    // EventSource and in-flight fetches are cancelled when the page closes.
    if (failure.includes('ERR_ABORTED')) return;
    errors.push(`${label}: request failed ${request.url()} ${failure}`);
  });
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== new URL(args.url).origin && !request.url().startsWith('data:')) {
      errors.push(`${label}: request to another origin ${request.url()}`);
    }
  });
}

// Pixels of the canvas under `selector` close to the colour (r,g,b).
async function colouredPixels(page, selector, [r, g, b]) {
  return page.evaluate(({ selector, r, g, b }) => {
    const canvas = document.querySelector(`${selector} canvas`);
    if (!canvas) return -1;
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60) n++;
    }
    return n;
  }, { selector, r, g, b });
}

async function tileTexts(page) {
  return page.evaluate((tiles) => Object.fromEntries(
    ['overall', ...tiles].map((t) => [t, document.getElementById(`${t}-value`)?.textContent ?? ''])), TILES);
}

async function waitForCharts(page, timeout) {
  await page.waitForFunction(() => {
    const charts = window.mingusDashboard?.charts;
    return charts && charts.latency?.points() >= 2 && charts.requests?.points() >= 2;
  }, null, { timeout, polling: 500 });
}

async function main() {
  fs.mkdirSync(args.out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    // Playwright gives each launch a fresh profile in a temp dir of its own.
  });
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    watchConsole(page, 'laptop', errors);
    let loads = 0;
    page.on('load', () => loads++);

    const response = await page.goto(args.url, { waitUntil: 'load' });
    await check('the page loads from / with the embedded script and styles', async () => {
      if (response.status() !== 200) throw new Error(`HTTP ${response.status()}`);
      await page.waitForFunction(() => typeof window.uPlot === 'function' && window.mingusDashboard, null, { timeout: 10000 });
      const title = await page.title();
      if (title !== 'Mingus Monitor') throw new Error(`title ${title}`);
    });

    await check(args.expectTiles ? 'the status tiles show numbers' : 'without the dashboard API the tiles show a dash', async () => {
      if (args.expectTiles) {
        await page.waitForFunction((tiles) => tiles.every((t) => /\d/.test(document.getElementById(`${t}-value`)?.textContent ?? ''))
          && (document.getElementById('overall-value')?.textContent ?? '\u2014') !== '\u2014', TILES, { timeout: 15000, polling: 200 });
      } else {
        await page.waitForTimeout(1500);
        const texts = await tileTexts(page);
        if (!TILES.every((t) => texts[t] === '\u2014')) throw new Error(JSON.stringify(texts));
      }
      console.log(`tiles: ${JSON.stringify(await tileTexts(page))}`);
    });

    await check(`the alert ${args.alertname} is not firing yet`, async () => {
      const n = await page.locator(`li.alert.firing[data-alertname="${args.alertname}"]`).count();
      if (n !== 0) throw new Error('it already fires: the test cannot show a live update');
    });

    await page.evaluate(() => { window.__sameDocument = true; });
    console.log('PAGE_READY');

    const alert = page.locator(`li.alert.firing[data-alertname="${args.alertname}"]`);
    const appeared = await check('the firing alert appears without a reload', async () => {
      await alert.first().waitFor({ state: 'visible', timeout: 30000 });
      const same = await page.evaluate(() => window.__sameDocument === true);
      if (!same || loads !== 1) throw new Error(`the page was reloaded (loads: ${loads})`);
    });

    if (appeared) {
      await check('alert text from the API is shown as text, never as markup', async () => {
        const injected = await page.evaluate(() => ({
          flag: window.__xss ?? null,
          nodes: document.querySelectorAll('#alerts img, #alerts script, #alerts b, #alerts iframe').length,
          summary: document.querySelector('li.alert .summary')?.textContent ?? '',
        }));
        if (injected.flag !== null || injected.nodes !== 0) throw new Error(JSON.stringify(injected));
        if (!injected.summary.includes('<img')) throw new Error(`summary ${JSON.stringify(injected.summary)}`);
      });

      if (args.expectSilences) {
        await check('the silence button creates a silence and the alert shows it', async () => {
          const button = alert.first().locator('button[data-action="silence"]');
          const [posted] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/api/monitoring/silences') && r.request().method() === 'POST', { timeout: 10000 }),
            button.click(),
          ]);
          if (posted.status() !== 200) throw new Error(`POST answered ${posted.status()}: ${await posted.text()}`);
          const body = JSON.parse(posted.request().postData() ?? '{}');
          const names = (body.matchers ?? []).map((m) => `${m.name}=${m.value}`);
          if (!names.includes(`alertname=${args.alertname}`)) throw new Error(`matchers ${names}`);
          console.log(`SILENCE_ID ${(await posted.json()).silenceID}`);
          await page.locator(`li.alert.silenced[data-alertname="${args.alertname}"]`).first().waitFor({ timeout: 10000 });
        });
      }
    }

    await check('the latency and request charts draw their series', async () => {
      await waitForCharts(page, 45000);
      await page.waitForTimeout(300);  // one animation frame for uPlot to paint
      const latency = await colouredPixels(page, '#chart-latency', [0x2f, 0x80, 0xed]);
      const requests = await colouredPixels(page, '#chart-requests', [0x27, 0xae, 0x60]);
      console.log(`chart pixels: latency p50 ${latency}, requests ${requests}`);
      if (latency < 20 || requests < 20) throw new Error(`too few series pixels: latency ${latency}, requests ${requests}`);
    });

    await check('the 6 h range redraws the charts and asks for 6 hours of slow endpoints', async () => {
      const [performance] = await Promise.all([
        page.waitForResponse((r) => r.url().includes('/api/monitoring/performance?hours=6'), { timeout: 10000 }),
        page.waitForResponse((r) => r.url().includes('/api/v1/query_range') && r.url().includes('step=60'), { timeout: 10000 }),
        page.locator('button[data-range="6h"]').click(),
      ]);
      if (performance.status() !== 200 && args.expectTiles) throw new Error(`performance answered ${performance.status()}`);
      if (await page.locator('button[data-range="6h"]').getAttribute('aria-pressed') !== 'true') throw new Error('6 h is not shown as chosen');
      await page.waitForFunction(() => window.mingusDashboard.state.range === '6h' && !window.mingusDashboard.state.errors['chart-latency'], null, { timeout: 5000 });
      // Back to 1 h: a minute of data has points every 10 s there (every 60 s at 6 h).
      await page.locator('button[data-range="1h"]').click();
      await waitForCharts(page, 10000);
    });

    if (args.expectTiles) {
      await check('the business insights section shows the report of the last 30 days', async () => {
        await page.waitForFunction(() => document.querySelector('#insights-figures table')
          && document.getElementById('insights-range').textContent.startsWith('last 30 days'), null, { timeout: 10000 });
        const first = await page.locator('#insights-figures tbody tr').first().innerText();
        if (!first.startsWith('Registrations')) throw new Error(`first figure: ${first}`);
      });

      await check('the database section shows the costliest queries, suggestions and hints', async () => {
        // The demo's db events reach the store with the collector's first pulls: ask again.
        await page.waitForFunction(async () => {
          await window.mingusDashboard.refreshDb();
          return document.querySelector('#db-digests tbody tr') !== null;
        }, null, { timeout: 30000, polling: 1000 });
        if (!(await page.locator('#db-range').innerText()).startsWith('since ')) throw new Error('no window shown');
        const query = await page.locator('#db-digests tbody tr').first().locator('td').first().innerText();
        if (!/^(SELECT|INSERT|UPDATE|DELETE)\b/i.test(query)) throw new Error(`first query: ${query}`);
        for (const part of ['#db-suggestions', '#db-hints']) {
          if (await page.locator(`${part} table, ${part} p`).count() !== 1) throw new Error(`${part} shows nothing`);
        }
      });
    }

    if (args.expectStream) {
      await check('the page is live on the SSE stream', async () => {
        await page.waitForFunction(() => window.mingusDashboard.state.mode === 'live', null, { timeout: 10000 });
      });
    } else {
      console.log(`connection mode without a stream: ${await page.evaluate(() => window.mingusDashboard.state.mode)}`);
    }

    const laptop = path.join(args.out, 'dashboard-laptop.png');
    await page.screenshot({ path: laptop, fullPage: true });
    console.log(`SCREENSHOT ${laptop}`);

    const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const phone = await phoneContext.newPage();
    watchConsole(phone, 'phone', errors);
    await phone.goto(args.url, { waitUntil: 'load' });
    await check('on a phone the page fits its width', async () => {
      if (args.expectTiles) {
        await phone.waitForFunction((tiles) => tiles.every((t) => /\d/.test(document.getElementById(`${t}-value`)?.textContent ?? '')), TILES, { timeout: 15000 });
      }
      await waitForCharts(phone, 15000);
      await phone.waitForTimeout(300);
      const widths = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      if (widths.scroll > widths.client + 1) throw new Error(`scrolls sideways: ${JSON.stringify(widths)}`);
    });
    const phoneShot = path.join(args.out, 'dashboard-phone.png');
    await phone.screenshot({ path: phoneShot, fullPage: true });
    console.log(`SCREENSHOT ${phoneShot}`);
    await phoneContext.close();
    await context.close();
  } finally {
    await browser.close();
  }

  if (errors.length === 0) pass('no console errors, page errors or failed requests');
  else fail('no console errors, page errors or failed requests', errors.join(' | '));
}

const watchdog = setTimeout(() => {
  fail('finished in time', `${args.timeoutMs} ms`);
  process.exit(1);
}, args.timeoutMs);

main().then(() => {
  clearTimeout(watchdog);
  process.exit(failures === 0 ? 0 : 1);
}, (error) => {
  clearTimeout(watchdog);
  fail('the browser session', error?.stack ?? error);
  process.exit(1);
});
