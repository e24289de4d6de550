// Browser tests: start the real tracehouse binary, ingest traces over OTLP/HTTP JSON, then
// drive Debian's Chromium (playwright-core, never a downloaded browser) through the UI.
//
//   npm --prefix ui run e2e            (after `cargo build -p tracehouse`)
//
// Env: TRACEHOUSE_BIN (default target/debug/tracehouse), CHROMIUM (default /usr/bin/chromium),
// E2E_OUTPUT (screenshots, default ui/e2e-output), E2E_ONLY (substring filter on test names),
// E2E_HEADFUL=1 to watch.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { browserPages, checkoutTrace, comparePair, hex, largeTrace, metricsRequest, noiseLogs, orphanSpanTrace, otlp, otlpLogs, replayChunks, mapServiceSpan, retryTrace, serviceCalls, sessionTrace, sharedIdTrace } from './fixtures.mjs';
import { metricsTests } from './metrics.mjs';
import { servicesTests } from './services.mjs';
import { fail, launchBrowser, repo, sleep, startServer } from './harness.mjs';

const require = createRequire(import.meta.url);
const OUT = resolve(process.env.E2E_OUTPUT ?? join(repo, 'ui/e2e-output'));

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

class AssertionError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
function eq(actual, expected, msg) {
  if (actual !== expected) throw new AssertionError(`${msg}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// ---- server ---------------------------------------------------------------------------------
const { base, otlpLogsUrl, otlpMetricsUrl, post, waitTrace, stop } = await startServer();
let browser;
const cleanup = async () => {
  try {
    await browser?.close();
  } catch {
    /* ignore */
  }
  await stop();
};
process.on('SIGINT', async () => {
  await cleanup();
  process.exit(130);
});

const now = Date.now() * 1e6;
const retry = retryTrace(now - 20 * 60e9);
const checkout = checkoutTrace(now - 10 * 60e9, { traceId: retry.traceId, spanId: retry.rootId });
const others = Array.from({ length: 5 }, (_, i) => checkoutTrace(now - (15 + i * 5) * 60e9));
const large = largeTrace(now - 3 * 3600e9, 3000); // outside the default 1h window
const shared = sharedIdTrace(now - 12 * 60e9);
const orphan = orphanSpanTrace(now - 4 * 3600e9); // outside the default 1h window
await post(otlp(orphan.spans));
await post(otlp(retry.spans));
await post(otlp(checkout.spans));
for (const t of others) await post(otlp(t.spans));
await post(otlp(large.spans));
await post(otlp(shared.spans));
// A browser session: two requests that throw the same exception, with logs inside their spans,
// plus thousands of unrelated log lines (for the virtualised list and infinite scroll).
const SESSION = `sess-e2e-${hex(4)}`;
const sessA = sessionTrace(now - 30 * 60e9, SESSION);
const sessB = sessionTrace(now - 25 * 60e9, SESSION);
const NOISE = 3000;
await post(otlp(sessA.spans));
await post(otlp(sessB.spans));
// A browser session with two page loads and a request, for the sessions list's columns.
const PAGES_SESSION = `sess-pages-${hex(4)}`;
await post(otlp(browserPages(now - 20 * 60e9, PAGES_SESSION)));
// A session with a recording: one request, recorded from a second before it to the "Green tea"
// that appears three seconds into the recording (after the request and its error).
const REPLAY_SESSION = `sess-replay-${hex(4)}`;
const replayed = sessionTrace(now - 8 * 60e9, REPLAY_SESSION, 'E2eReplayError');
const replayT0Ms = Math.round((now - 8 * 60e9) / 1e6) - 1000;
await post(otlp(replayed.spans));
for (const chunk of replayChunks(replayT0Ms, REPLAY_SESSION)) await post(chunk, otlpLogsUrl.replace(/\/v1\/logs$/, '/v1/replay'));
await waitTrace(orphan.traceId, 1);
// A call into a host whose clock runs 300 ms behind: the server span "starts" before the
// client span that caused it (kept outside the default 1h window).
const SKEW_TRACE = hex(16);
const skewIds = { parent: hex(8), child: hex(8) };
const skewT0 = now - 2 * 3600e9;
await post(
  otlp([
    { traceId: SKEW_TRACE, spanId: skewIds.parent, service: 'edge', name: 'GET /skew', kind: 3, start: skewT0, end: skewT0 + 100e6 },
    { traceId: SKEW_TRACE, spanId: skewIds.child, parentSpanId: skewIds.parent, service: 'skewed', name: 'handle /skew', kind: 2, start: skewT0 - 300e6, end: skewT0 - 240e6 },
  ]),
);
await waitTrace(SKEW_TRACE, 2);
// Calls between two services of their own environment, outside the default 1h window (the
// services pages are read over 6h).
const CALLS_ENV = 'e2e-calls';
const calls = serviceCalls(now - 100 * 60e9, 20);
await post(otlp(calls, CALLS_ENV));
await waitTrace(calls.at(-1).traceId, 4);
// A service named like the map's old path, whose page must open at /services/map.
const mapService = mapServiceSpan(now - 100 * 60e9);
await post(otlp([mapService]));
await waitTrace(mapService.traceId, 1);
// OTLP metrics of gateway and billing over 11 minutes, whose latency exemplar is the payment
// span of the checkout trace.
const METRICS_T0 = Math.floor((now - 30 * 60e9) / 60e9) * 60e9;
await post(metricsRequest(METRICS_T0, { traceId: checkout.traceId, spanId: checkout.ids.pay }), otlpMetricsUrl);
await waitTrace(checkout.traceId, 12);
await waitTrace(large.traceId, 3000);
await waitTrace(shared.traceId, 5);
await waitTrace(sessB.traceId, 3);

async function waitLogs(query, n) {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${base}/api/v1/logs/search?query=${encodeURIComponent(query)}&limit=1000`);
    if (r.ok && (await r.json()).logs.length >= n) return;
    await sleep(100);
  }
  fail(`logs matching ${query} did not appear (${n} expected)`);
}

// Which of the search endpoints exist on this server?
const hasRoute = async (path) => {
  const r = await fetch(base + path);
  if (r.status !== 404) return true;
  const body = await r.json().catch(() => ({}));
  return !/no such route/i.test(body?.error?.message ?? '');
};
const hasSearch = await hasRoute('/api/v1/spans/search?query=');
const hasHistogram = await hasRoute('/api/v1/spans/histogram?query=');
const hasLogs = await hasRoute('/api/v1/logs/search?query=');
console.log(`server ${base} (search API: ${hasSearch ? 'yes' : 'no'}, histogram API: ${hasHistogram ? 'yes' : 'no'}, logs/errors/sessions API: ${hasLogs ? 'yes' : 'no'})`);
if (hasLogs) {
  await post(otlpLogs([...sessA.logs, ...sessB.logs]), otlpLogsUrl);
  await post(otlpLogs(noiseLogs(now - 50 * 60e9, now - 40 * 60e9, NOISE)), otlpLogsUrl);
  await waitLogs(`trace_id:${sessB.traceId}`, 3);
  await waitLogs('', 1000);
}

// ---- browser --------------------------------------------------------------------------------
browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.on('console', (m) => {
  if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(m.text());
});
const shot = (name) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false });
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
async function axe(name) {
  await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert(bad.length === 0, `${name}: accessibility violations: ${JSON.stringify(bad, null, 1)}`);
}
const url = () => new URL(page.url());
const rowIds = () => page.$$eval('.wf-row', (rs) => rs.map((r) => r.getAttribute('data-span-id')));
const selectedRow = () => page.$eval('.wf-row.selected', (r) => r.getAttribute('data-span-id')).catch(() => null);
const waitUrl = async (pred, what) => {
  for (let i = 0; i < 50; i++) {
    if (pred(url())) return;
    await sleep(100);
  }
  throw new AssertionError(`URL never ${what}: ${page.url()}`);
};

const tests = [];
const test = (name, fn, opts = {}) => tests.push({ name, fn, ...opts });

test('search page lists spans', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  const n = await page.$$eval('table.results tbody tr', (r) => r.length);
  assert(n >= 12, `expected at least 12 span rows, got ${n}`);
  const names = await page.$$eval('table.results tbody td.name-cell', (c) => c.map((x) => x.textContent));
  assert(names.includes('POST /charge'), `expected a POST /charge row among ${names.slice(0, 10)}`);
  await shot('01-search');
});

test('histogram renders bars with errors stacked', async () => {
  await page.waitForSelector('.hist-svg rect.bar-ok');
  const ok = await page.$$eval('.hist-svg rect.bar-ok', (r) => r.length);
  const err = await page.$$eval('.hist-svg rect.bar-err', (r) => r.length);
  assert(ok > 0, 'no span bars in the histogram');
  assert(err > 0, 'no error bars in the histogram');
});

test('brushing the histogram zooms into the range', async () => {
  const box = await (await page.$('.hist-svg')).boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.9, box.y + 40, { steps: 5 });
  await page.mouse.up();
  await waitUrl((u) => u.searchParams.get('start') && u.searchParams.get('end') && !u.searchParams.get('range'), 'got an absolute start/end');
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
});

test('the service and operation pickers write terms into the query', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  // (Preact sets an option's value as a property, not an attribute: no [value=…] selector.)
  const hasOption = (key, v) => page.waitForFunction(([k, x]) => [...document.querySelectorAll(`select[data-picker="${k}"] option`)].some((o) => o.value === x), [key, v]);
  await hasOption('service_name', 'payments');
  await page.selectOption('select[data-picker="service_name"]', 'payments');
  await waitUrl((u) => u.searchParams.get('query') === 'service_name:payments', 'service term in the query');
  // The query bar takes the URL's query in an effect after the render that changed it.
  await page.waitForFunction(() => document.querySelector('#query')?.value === 'service_name:payments');
  await hasOption('span_name', 'POST /charge');
  await page.selectOption('select[data-picker="span_name"]', 'POST /charge');
  await waitUrl((u) => u.searchParams.get('query') === 'service_name:payments span_name:"POST /charge"', 'operation term added');
  await page.waitForFunction(() => [...document.querySelectorAll('table.results td.name-cell')].every((c) => c.textContent === 'POST /charge'));
  await page.selectOption('select[data-picker="service_name"]', '');
  await waitUrl((u) => u.searchParams.get('query') === 'span_name:"POST /charge"', 'service term removed');
  await page.goto(`${base}/?range=1h`);
});

/**
 * Types `q` into the query bar, closes the suggestions with Escape and submits with Enter.
 * When the suggestion list had closed itself before the Escape (no suggestions for the last
 * word), Escape leaves the input as it should and the Enter goes nowhere: the Search button
 * then submits the same text.
 */
async function typeQuery(q) {
  await page.click('#query');
  await page.fill('#query', '');
  await page.type('#query', q);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Enter');
  for (let i = 0; i < 10 && url().searchParams.get('query') !== q; i++) await sleep(100);
  if (url().searchParams.get('query') !== q) await page.click('.querybar button.primary');
  await waitUrl((u) => u.searchParams.get('query') === q, `carried the query ${q}`);
}

test('a typed query filters the results', async () => {
  await typeQuery('service_name:payments');
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('table.results tbody tr')];
    return cells.length > 0 && cells.every((r) => r.textContent.includes('payments'));
  }, null, { timeout: 5000 });
  await shot('02-search-query');
}, { needs: 'search' });

test('an attribute column sorts by its value on the server: numbers first, spans without it last', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  const columns = page.locator('details.columns', { has: page.locator('summary', { hasText: 'Columns' }) });
  await columns.locator('summary').click();
  await page.fill('input[aria-label="Add attribute column"]', 'http.status_code');
  await page.press('input[aria-label="Add attribute column"]', 'Enter');
  await columns.locator('summary').click();
  const values = () =>
    page.$$eval('table.results', ([t]) => {
      const i = [...t.querySelectorAll('thead th')].findIndex((th) => th.textContent.includes('http.status_code'));
      return [...t.querySelectorAll('tbody tr')].map((r) => r.children[i].textContent.trim());
    });
  const header = page.locator('table.results thead th', { hasText: 'http.status_code' }).locator('button');
  for (const dir of ['desc', 'asc']) {
    await header.click();
    await waitUrl((u) => u.searchParams.get('sort') === `http.status_code:${dir}`, `sorted ${dir} by the attribute`);
    const check = (v) => {
      const present = v.filter((x) => x !== '');
      if (present.length === 0 || present.length === v.length) return `expected spans with and without http.status_code, got ${JSON.stringify(v.slice(0, 20))}`;
      if (!v.slice(0, present.length).every((x) => x !== '')) return `spans without the key must come last: ${JSON.stringify(v.slice(0, 20))}`;
      const nums = present.map(Number);
      const ordered = nums.every((n, i) => i === 0 || (dir === 'desc' ? nums[i - 1] >= n : nums[i - 1] <= n));
      return ordered ? null : `values not ${dir}: ${JSON.stringify(present)}`;
    };
    let problem = 'no rows';
    for (let i = 0; i < 50 && problem; i++) {
      await sleep(100);
      problem = check(await values());
    }
    assert(!problem, problem);
    const mark = await header.textContent();
    assert(mark.includes(dir === 'desc' ? '▼' : '▲'), `header shows the ${dir} mark: ${mark}`);
  }
  await shot('02b-search-sorted-by-attribute');
  await columns.locator('summary').click();
  await columns.locator('label', { hasText: 'http.status_code' }).locator('input').click();
  await columns.locator('summary').click();
  await page.goto(`${base}/?range=1h`);
}, { needs: 'search' });

test('a query with a syntax error shows the inline error mark', async () => {
  await page.goto(`${base}/?range=1h&query=${encodeURIComponent('service_name:(checkout OR')}`);
  await page.waitForSelector('.querybar [data-error]', { timeout: 5000 });
  const msg = await page.textContent('#query-error');
  assert(msg && msg.length > 3, 'no error message under the query bar');
  eq(await page.getAttribute('#query', 'aria-invalid'), 'true', 'aria-invalid on the query input');
  await shot('03-search-error');
}, { needs: 'search' });

test('the query bar switches to TraceQL: the same spans, errors marked where they are', async () => {
  await page.goto(`${base}/?range=1h&query=service_name:payments`);
  await page.waitForSelector('table.results tbody tr');
  const native = await page.textContent('.results-head .count');
  const lang = page.locator('[role=group][aria-label="Query language"]');
  await lang.locator('button', { hasText: 'TraceQL' }).click();
  await waitUrl((u) => u.searchParams.get('lang') === 'traceql' && !u.searchParams.get('query'), 'lang=traceql, query cleared');
  eq(await lang.locator('button', { hasText: 'TraceQL' }).getAttribute('aria-pressed'), 'true', 'TraceQL pressed');
  eq(await page.locator('select[data-picker]').count(), 0, 'no pickers with TraceQL');
  const q = '{ resource.service.name = "payments" }';
  await page.click('#query');
  await page.type('#query', q);
  await page.keyboard.press('Enter');
  await waitUrl((u) => u.searchParams.get('query') === q && u.searchParams.get('lang') === 'traceql', 'carried the TraceQL query');
  await page.waitForFunction((want) => document.querySelector('.results-head .count')?.textContent === want, native, { timeout: 5000 });
  const services = await page.$$eval('table.results tbody tr', (rs) => rs.map((r) => r.textContent));
  assert(services.length > 0 && services.every((t) => t.includes('payments')), 'TraceQL rows are the payments spans');
  eq(await page.locator('#query-suggestions').count(), 0, 'no tracehouse-language suggestions for TraceQL');
  // The histogram counts the same spans (with TraceQL too).
  await page.waitForFunction((want) => document.querySelector('.hist-head strong')?.textContent === want.replace(/[^0-9]/g, ''), native, { timeout: 5000 });
  for (const width of [1440, 900, 390]) {
    await page.setViewportSize({ width, height: 900 });
    const o = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(o <= 0, `the TraceQL search at ${width} px overflows by ${o} px`);
    await shot(`02c-search-traceql-${width}`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  await axe('search page with TraceQL');
  await page.fill('#query', '{ status = }');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.querybar [data-error]', { timeout: 5000 });
  eq(await page.textContent('.querybar [data-error]'), '}', 'the error marks the offending brace');
  eq(await page.getAttribute('#query', 'aria-invalid'), 'true', 'aria-invalid on the query input');
  await lang.locator('button', { hasText: 'tracehouse' }).click();
  await waitUrl((u) => !u.searchParams.get('lang') && !u.searchParams.get('query'), 'back to the tracehouse language');
  await page.waitForSelector('select[data-picker]');
}, { needs: 'search' });

test('autocomplete suggests keys, Tab accepts', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.click('#query');
  await page.type('#query', 'servi');
  await page.waitForSelector('#query-suggestions li[role=option]');
  await page.keyboard.press('Tab');
  const v = await page.inputValue('#query');
  assert(/^service_\w+:$/.test(v), `Tab should accept a key suggestion, query is ${JSON.stringify(v)}`);
  await page.keyboard.press('Escape');
});

test('trace rows toggle; the traces view counts traces, not spans', async () => {
  await page.goto(`${base}/?range=1h&view=traces`);
  await page.waitForSelector('table.results[aria-label="Matching traces"] tbody tr', { timeout: 5000 });
  const count = async () => Number((await page.textContent('.hist-head strong')).replace(/[^0-9]/g, ''));
  const api = async (of) => {
    const u = new URL(`${base}/api/v1/${of}/histogram`);
    for (const [k, v] of url().searchParams) if (k !== 'view') u.searchParams.set(k, v);
    const start = new Date(Date.now() - 3600e3).toISOString();
    u.searchParams.set('start', start);
    const body = await (await fetch(u)).json();
    return body.buckets.reduce((n, b) => n + b.count, 0);
  };
  await page.waitForFunction(() => /traces/.test(document.querySelector('.hist-head')?.textContent ?? ''));
  const [traces, spans] = [await api('traces'), await api('spans')];
  assert(traces > 0 && traces < spans, `traces ${traces} should be fewer than spans ${spans}`);
  let shown = 0;
  for (let i = 0; i < 30 && shown !== traces; i++) {
    await sleep(100);
    shown = await count();
  }
  assert(shown === traces, `the histogram header shows ${shown}, the API counts ${traces} traces`);
  // Beside it, a dot per loaded trace; failed traces are drawn in the error colour, and a click
  // on one opens that trace.
  await page.waitForSelector('.scatter .uplot canvas');
  const rowsBefore = (await page.$$('table.results tbody tr')).length;
  eq(Number(await page.getAttribute('.scatter', 'data-points')), rowsBefore, 'dots for the loaded traces');
  const red = await page.evaluate(async () => {
    // uPlot draws on the next frame.
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const c = document.querySelector('.scatter canvas');
    const over = document.querySelector('.scatter .u-over').getBoundingClientRect();
    const hex = getComputedStyle(document.documentElement).getPropertyValue('--err').trim();
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    const box = c.getBoundingClientRect();
    const k = c.width / box.width;
    for (let i = 0; i < px.data.length; i += 4) {
      const [x, y] = [box.left + ((i / 4) % c.width) / k + 1, box.top + Math.floor(i / 4 / c.width) / k + 1];
      const inside = x > over.left && x < over.right && y > over.top && y < over.bottom;
      if (inside && Math.abs(px.data[i] - r) + Math.abs(px.data[i + 1] - g) + Math.abs(px.data[i + 2] - b) < 12) return { x, y };
    }
    return null;
  });
  assert(red, 'a failed trace drawn in the error colour');
  await page.mouse.click(red.x, red.y);
  await waitUrl((u) => u.searchParams.has('peek'), 'a click on the dot opened its trace');
  assert(await page.$(`table.results tr.row-err[data-trace-id="${url().searchParams.get('peek')}"]`), 'the dot clicked was a failed trace');
  await page.waitForSelector('.drawer .wf-row');
  await shot('04-search-traces');
  await page.keyboard.press('Escape');
  await waitUrl((u) => !u.searchParams.has('peek'), 'closed the drawer');
  // The headers sort the loaded traces: by span count, then by duration, longest first, then shortest.
  const column = (i) => page.$$eval(`table.results tbody tr td:nth-child(${i})`, (cs) => cs.map((c) => c.textContent));
  const ms = (t) => {
    const m = t.match(/^([\d.]+)(ns|µs|ms|s)$/);
    return m ? Number(m[1]) * { ns: 1e-6, µs: 1e-3, ms: 1, s: 1e3 }[m[2]] : NaN;
  };
  const ordered = (xs, dir) => xs.every((x, i) => i === 0 || (dir > 0 ? xs[i - 1] <= x : xs[i - 1] >= x));
  await page.click('table.results th button:has-text("Spans")');
  await waitUrl((u) => u.searchParams.get('sort') === 'spans_desc', 'sorted by span count');
  const spanCounts = (await column(6)).map(Number);
  assert(ordered(spanCounts, -1) && spanCounts[0] > spanCounts.at(-1), `span counts descending: ${spanCounts}`);
  eq(await page.getAttribute('table.results th:nth-child(6)', 'aria-sort'), 'descending', 'aria-sort of Spans');
  await page.click('table.results th button:has-text("Duration")');
  await waitUrl((u) => u.searchParams.get('sort') === 'duration_desc', 'sorted by duration');
  const longest = (await column(5)).map(ms);
  assert(ordered(longest, -1) && longest.every(Number.isFinite), `durations descending: ${longest}`);
  await page.click('table.results th button:has-text("Duration")');
  await waitUrl((u) => u.searchParams.get('sort') === 'duration_asc', 'shortest first');
  const shortest = (await column(5)).map(ms);
  assert(ordered(shortest, 1), `durations ascending: ${shortest}`);
  eq((await column(5)).length, rowsBefore, 'the same traces, sorted');
}, { needs: 'search' });

test('clicking a result row opens the trace in a side drawer; Esc closes it', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  await page.click(`table.results tr[data-span-id="${checkout.ids.pay}"] td:not(.name-cell)`);
  await waitUrl((u) => u.pathname === '/' && u.searchParams.get('peek') === checkout.traceId, 'peeked at the trace');
  await page.waitForSelector('.drawer .wf-row');
  eq((await page.$$('.drawer .wf-row')).length, 12, 'waterfall rows in the drawer');
  eq(await page.getAttribute('.drawer .wf-row.selected', 'data-span-id'), checkout.ids.pay, 'the clicked span is selected');
  assert((await page.$$('table.results tbody tr')).length > 0, 'the results stay behind the drawer');
  await shot('04b-search-drawer');
  await page.keyboard.press('Escape');
  await waitUrl((u) => !u.searchParams.get('peek') && !u.searchParams.get('span'), 'closed the drawer');
  eq((await page.$$('.drawer')).length, 0, 'drawer gone');
});

test('opening a trace shows the waterfall with every span, nested', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  await page.click(`table.results tr[data-span-id="${checkout.ids.root}"] td.name-cell a`);
  await waitUrl((u) => u.pathname === `/traces/${checkout.traceId}`, 'opened the trace');
  await page.waitForSelector('.wf-row');
  eq((await rowIds()).length, 12, 'waterfall rows');
  eq(await page.textContent('[data-testid=span-count]'), '12', 'span count in the header');
  eq(await page.textContent('[data-testid=error-count]'), '2', 'error count in the header');
  const depth = (key) => page.getAttribute(`.wf-row[data-span-id="${checkout.ids[key]}"]`, 'data-depth');
  eq(await depth('root'), '0', 'root depth');
  eq(await depth('pay'), '1', 'POST /charge depth');
  eq(await depth('paydb'), '2', 'INSERT payments depth');
  eq(await depth('ledger'), '3', 'ledger append depth');
  const order = await rowIds();
  assert(order.indexOf(checkout.ids.ledger) === order.indexOf(checkout.ids.paydb) + 1, 'ledger append right below its parent');
  assert((await page.$$('.wf-row.critical')).length >= 2, 'critical path highlighted');
  await shot('05-trace-waterfall');
});

test('selecting a span shows its attributes', async () => {
  await page.click(`.wf-row[data-span-id="${checkout.ids.cartdb}"]`);
  await page.waitForSelector('.span-panel tr[data-attr-key="db.statement"]');
  const v = await page.textContent('.span-panel tr[data-attr-key="db.system"] td.val');
  eq(v, 'postgresql', 'db.system value');
  eq(url().searchParams.get('span'), checkout.ids.cartdb, 'span in the URL');
  await page.fill('#attr-filter', 'statement');
  eq((await page.$$('.span-panel section[aria-label="Span attributes"] tr[data-attr-key]')).length, 1, 'attribute search narrows the list');
  assert((await page.$$('.span-panel tr[data-attr-key="host.name"]')).length === 0, 'resource attributes filtered too');
  await page.fill('#attr-filter', '');
  assert((await page.$$('.span-panel tr[data-attr-key="host.name"]')).length === 1, 'resource attributes shown');
});

test('errors show the exception with its stack trace', async () => {
  await page.click(`.wf-row[data-span-id="${checkout.ids.pay}"]`);
  await page.waitForSelector('.span-panel .exception pre.stack');
  const text = await page.textContent('.span-panel .exception');
  assert(text.includes('CardDeclined') && text.includes('payments/charge.py:42'), `exception text: ${text}`);
  await shot('06-trace-error-span');
});

test('collapse hides children, expand shows them', async () => {
  await page.click(`.wf-row[data-span-id="${checkout.ids.pay}"] button.toggle`);
  let ids = await rowIds();
  eq(ids.length, 9, 'rows after collapsing POST /charge (3 descendants)');
  assert(!ids.includes(checkout.ids.ledger), 'grandchild hidden');
  await page.click(`.wf-row[data-span-id="${checkout.ids.pay}"] button.toggle`);
  ids = await rowIds();
  eq(ids.length, 12, 'rows after expanding again');
});

test('keyboard j/k moves the selection', async () => {
  await page.click(`.wf-row[data-span-id="${checkout.ids.root}"]`);
  await page.keyboard.press('j');
  eq(await selectedRow(), checkout.ids.auth, 'j selects the next row');
  await page.keyboard.press('j');
  eq(await selectedRow(), checkout.ids.cart, 'j again');
  await page.keyboard.press('k');
  eq(await selectedRow(), checkout.ids.auth, 'k goes back');
  await page.keyboard.press('ArrowDown');
  eq(await selectedRow(), checkout.ids.cart, 'ArrowDown');
  await page.keyboard.press('Enter');
  assert(!(await rowIds()).includes(checkout.ids.cartdb), 'Enter collapses the selected span');
  await page.keyboard.press('Enter');
  assert((await rowIds()).includes(checkout.ids.cartdb), 'Enter expands it again');
});

test('find in trace highlights matches', async () => {
  await page.fill('#find', 'postgresql');
  await page.waitForFunction(() => document.querySelectorAll('.wf-row.match').length === 3);
  await page.click('text=only matches');
  await page.waitForFunction(() => document.querySelectorAll('.wf-row').length === 6);
  await shot('07-trace-find');
  await page.click('text=only matches');
  await page.fill('#find', '');
});

test('flame graph renders and zooms on click', async () => {
  await page.click('button[role=tab]:has-text("Flame graph")');
  await page.waitForSelector('.flame-node');
  eq((await page.$$('.flame-node')).length, 12, 'flame nodes');
  // Ctrl+wheel (a pinch) zooms around the pointer, A/D pan, 0 shows the whole trace again.
  const fraudBox = () => page.$eval(`.flame-node[data-span-id="${checkout.ids.fraud}"]`, (b) => { const r = b.getBoundingClientRect(); return { mid: r.left + r.width / 2, w: r.width }; });
  const before = await fraudBox();
  await page.mouse.move(before.mid, (await page.$eval(`.flame-node[data-span-id="${checkout.ids.fraud}"]`, (b) => b.getBoundingClientRect().top)) + 5);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -300);
  await page.keyboard.up('Control');
  await page.waitForFunction((w) => document.querySelector(`.flame-node[data-span-id="${w.id}"]`).getBoundingClientRect().width > w.w * 1.5, { id: checkout.ids.fraud, w: before.w });
  const zoomed = await fraudBox();
  assert(Math.abs(zoomed.mid - before.mid) < 3, `the point under the pointer stays put: ${before.mid} → ${zoomed.mid}`);
  eq(url().searchParams.get('zoom'), null, 'a wheel zoom is not a span zoom');
  await page.keyboard.press('a');
  const panned = await fraudBox();
  assert(panned.mid > zoomed.mid + 10 && Math.abs(panned.w - zoomed.w) < 1, `A pans left: ${JSON.stringify([zoomed, panned])}`);
  await page.keyboard.press('0');
  const reset = await fraudBox();
  assert(Math.abs(reset.w - before.w) < 1, `0 resets: ${before.w} → ${reset.w}`);
  await page.keyboard.press('w');
  assert((await fraudBox()).w > before.w * 1.4, 'W zooms in');
  await page.keyboard.press('0');
  await page.click(`.flame-node[data-span-id="${checkout.ids.pay}"]`);
  await page.waitForSelector('.crumbs .crumb.on:has-text("POST /charge")');
  eq((await page.$$('.flame-node')).length, 4, 'nodes after zooming into POST /charge');
  eq(url().searchParams.get('zoom'), checkout.ids.pay, 'zoom in the URL');
  await shot('08-trace-flame');
  await page.click('.crumbs .crumb:has-text("Whole trace")');
  eq((await page.$$('.flame-node')).length, 12, 'back to the whole trace');
  await page.click('button[role=tab]:has-text("Waterfall")');
});

test('deep link restores the selected span', async () => {
  await page.goto(`${base}/traces/${checkout.traceId}?span=${checkout.ids.ledger}`);
  await page.waitForSelector('.wf-row.selected');
  eq(await selectedRow(), checkout.ids.ledger, 'selected row');
  const title = await page.textContent('.span-panel h2');
  assert(title.includes('ledger append'), `panel title ${title}`);
});

test('a span link opens the linked trace', async () => {
  await page.goto(`${base}/traces/${checkout.traceId}?span=${checkout.ids.pay}`);
  await page.click('.span-panel a.span-link');
  await waitUrl((u) => u.pathname === `/traces/${retry.traceId}`, 'followed the link');
  await page.waitForSelector('.wf-row.selected');
  eq(await selectedRow(), retry.rootId, 'linked span selected');
  eq((await rowIds()).length, 2, 'linked trace rows');
});

test('the trace-id box opens a trace, and explains a malformed id', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.fill('#trace-id', 'not-a-trace');
  await page.press('#trace-id', 'Enter');
  await page.waitForSelector('.lookup-err');
  await page.fill('#trace-id', checkout.traceId.toUpperCase());
  await page.press('#trace-id', 'Enter');
  await waitUrl((u) => u.pathname === `/traces/${checkout.traceId}`, 'opened the trace by id');
  await page.waitForSelector('.wf-row');
});

test('a saved view keeps the query, range and columns, and its link opens it', async () => {
  await page.goto(`${base}/?query=${encodeURIComponent('service_name:payments')}&range=6h`);
  await page.waitForSelector('table.results tbody tr');
  const heads = () => page.$$eval('table.results thead th', (hs) => hs.map((h) => h.textContent.trim().toLowerCase()));
  // Hide the status column, then save the search under a name.
  await page.click('details.columns:not(.saved-views) summary');
  await page.uncheck('details.columns:not(.saved-views) label:has-text("Status") input');
  await page.click('details.columns:not(.saved-views) summary');
  assert(!(await heads()).some((h) => h.startsWith('status')), 'status column hidden');
  await page.click('details.saved-views summary');
  await page.fill('#view-name', 'payments 6h');
  await page.click('.save-view button[type=submit]');
  await page.waitForSelector('.view-list li[data-view="payments 6h"]');
  await page.keyboard.press('Escape');
  // Back to the defaults, then the view's link restores the search.
  await page.click('details.columns:not(.saved-views) summary');
  await page.check('details.columns:not(.saved-views) label:has-text("Status") input');
  // The choice is kept once the table shows it; navigating before that could lose it.
  await page.waitForFunction(() => [...document.querySelectorAll('table.results thead th')].some((h) => h.textContent.trim().toLowerCase().startsWith('status')));
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  assert((await heads()).some((h) => h.startsWith('status')), 'status column back');
  const href = await page.getAttribute('.view-list li[data-view="payments 6h"] a', 'href');
  eq(href, '/?saved=payments%206h', 'share link');
  await page.goto(`${base}${href}`);
  await waitUrl((u) => u.searchParams.get('query') === 'service_name:payments' && u.searchParams.get('range') === '6h' && !u.searchParams.has('saved'), 'the view\'s query and range in the URL');
  await page.waitForFunction(() => ![...document.querySelectorAll('table.results thead th')].some((h) => h.textContent.trim().toLowerCase().startsWith('status')), null, { timeout: 3000 });
  await page.waitForSelector('table.results tbody tr');
  await page.click('details.saved-views summary');
  await shot('13-saved-views');
  await axe('saved views');
  await page.click('.view-list li[data-view="payments 6h"] button[aria-label^="Delete"]');
  await page.waitForSelector('.saved-views .hint:has-text("No saved views yet")');
  // Restore the default columns for the tests that follow.
  await page.evaluate(() => localStorage.removeItem('tracehouse.columns'));
  await page.goto(`${base}/?range=1h`);
});

test('alert on this query: the Alerts page creates a rule, shows it firing with its history and the data behind it, edits and deletes it', async () => {
  await page.goto(`${base}/?query=${encodeURIComponent('service_name:payments')}&range=1h`);
  await page.waitForSelector('table.results tbody tr');
  await page.click('a:has-text("Alert on this query")');
  await waitUrl((u) => u.pathname === '/alerts' && u.searchParams.get('query') === 'service_name:payments', 'the Alerts page with the query');
  eq(await page.inputValue('#alert-query'), 'service_name:payments', 'query prefilled');
  // A refused rule shows the server's reason.
  await page.fill('#alert-name', 'payments spans');
  await page.fill('#alert-window_s', '0');
  await page.click('.alert-form button[type=submit]');
  await page.waitForSelector('.alert-form .banner:has-text("window_s must be between 1 and 86400")');
  // Any payments span in the last day fires at the first evaluation (every second).
  await page.fill('#alert-window_s', '86400');
  await page.selectOption('#alert-function', 'count');
  await page.fill('#alert-threshold', '0');
  await page.fill('#alert-interval_s', '1');
  await page.click('.alert-form button[type=submit]');
  await page.waitForSelector('table.alerts tbody tr');
  for (let i = 0; !(await page.$('.alert-state.firing')); i++) {
    assert(i < 50, 'the rule fires');
    await page.waitForTimeout(200);
    await page.goto(`${base}/alerts`);
    await page.waitForSelector('table.alerts tbody tr');
  }
  await page.click('table.alerts button:has-text("History")');
  await page.waitForSelector('.alert-history a:has-text("Open the spans")');
  const described = await page.textContent('.alert-history tbody tr:last-child');
  assert(described.includes('ok → firing'), `history: ${described}`);
  for (const theme of ['light', 'dark']) {
    await page.evaluate((th) => localStorage.setItem('tracehouse.theme', th), theme);
    await page.reload();
    await page.waitForSelector('.alert-history a');
    for (const width of [1440, 900, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const o = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(o <= 0, `the Alerts page at ${width} px (${theme}) overflows by ${o} px`);
      await shot(`14-alerts-${width}-${theme}`);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
    await axe(`alerts page (${theme})`);
  }
  await page.evaluate(() => localStorage.setItem('tracehouse.theme', 'light'));
  // The form too, for an edit.
  await page.reload();
  await page.click('table.alerts button:has-text("Edit")');
  eq(await page.inputValue('#alert-name'), 'payments spans', 'the edit form holds the rule');
  await shot('14-alerts-edit-1440');
  await axe('alert rule form');
  await page.fill('#alert-threshold', '1000000');
  await page.click('.alert-form button:has-text("Save rule")');
  await page.waitForSelector('table.alerts td:has-text("count > 1000000")');
  // The history's link opens the spans behind the firing.
  await page.click('.alert-history a:has-text("Open the spans")');
  await waitUrl((u) => u.pathname === '/' && u.searchParams.get('query') === 'service_name:payments' && u.searchParams.has('start'), 'the data behind the firing');
  await page.waitForSelector('table.results tbody tr');
  await page.goto(`${base}/alerts`);
  await page.click('table.alerts button[aria-label="Delete rule payments spans"]');
  await page.waitForSelector('.empty-state:has-text("No alert rules yet")');
});

test('"add as filter" writes key:value into the search query', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  await page.goto(`${base}/traces/${checkout.traceId}?span=${checkout.ids.cart}`);
  await page.click('.span-panel tr[data-attr-key="http.method"] button.add-filter');
  await waitUrl((u) => u.pathname === '/', 'went back to search');
  eq(url().searchParams.get('query'), 'http.method:GET', 'query in the URL');
  eq(url().searchParams.get('range'), '1h', 'range kept');
  eq(await page.inputValue('#query'), 'http.method:GET', 'query bar text');
});

test('a trace whose only span lost its parent opens under a missing-parent marker', async () => {
  await page.goto(`${base}/traces/${orphan.traceId}`);
  await page.waitForSelector('.wf-row');
  eq((await rowIds()).join(), 'missing:eee19b7ec3c1b173,eee19b7ec3c1b174', 'marker row, then the span under it');
  assert((await page.textContent('.wf-row.missing .wf-span-name')).includes('missing parent eee19b7ec3c1b173'), 'the marker names the missing id');
  eq(await page.textContent('.span-panel tr[data-attr-key="my.span.attr"] td.val'), 'some value', 'span attribute');
});

test('spans sharing an id are all shown and marked; the API returns every stored span', async () => {
  const r = await fetch(`${base}/api/v1/traces/${shared.traceId}`);
  const body = await r.json();
  eq(body.spans.length, 5, 'spans stored and returned');
  eq(body.spans.filter((s) => s.span_id === shared.ids.shared).length, 2, 'both spans of the shared id');
  await page.goto(`${base}/traces/${shared.traceId}`);
  await page.waitForSelector('.wf-row');
  const rows = await page.$$eval('.wf-row', (rs) => rs.map((r) => [r.getAttribute('data-span-id'), r.getAttribute('data-depth')]));
  eq(JSON.stringify(rows), JSON.stringify([[shared.ids.root, '0'], [shared.ids.shared, '1'], [`${shared.ids.shared}#2`, '2'], [shared.ids.query, '3'], [`missing:${shared.ids.lost}`, '0'], [shared.ids.orphan, '1']]), 'rows and depths');
  eq((await page.$$('.wf-row .badge.dup')).length, 2, 'both marked as duplicate ids');
  const skewed = await page.$$eval('.wf-row:has(.badge.skew)', (rs) => rs.map((r) => r.getAttribute('data-span-id')));
  eq(JSON.stringify(skewed), JSON.stringify([`${shared.ids.shared}#2`, shared.ids.query]), 'the server half and its child moved into the client half');
  eq(await page.textContent('[data-testid=span-count]'), '5', 'span count without the marker');
  await page.click(`.wf-row[data-span-id="${shared.ids.shared}#2"]`);
  await page.waitForSelector('.span-panel .dup-note');
  eq(url().searchParams.get('span'), `${shared.ids.shared}#2`, 'the second span is selectable by URL');
  await shot('09a-trace-shared-ids');
});

test('collapsing a subtree that holds an error says so', async () => {
  await page.goto(`${base}/traces/${checkout.traceId}`);
  await page.waitForSelector('.wf-row');
  await page.click(`.wf-row[data-span-id="${checkout.ids.root}"] button.toggle`);
  const badge = await page.$eval(`.wf-row[data-span-id="${checkout.ids.root}"] .badge.err`, (b) => [b.textContent, b.title]);
  assert(badge[0].includes('+11') && badge[1].includes('1 with errors'), `collapsed badge ${badge}`);
  await page.click(`.wf-row[data-span-id="${checkout.ids.root}"] button.toggle`);
});

test('the span panel widens by dragging and remembers it; JSON values are pretty-printed', async () => {
  await page.goto(`${base}/traces/${shared.traceId}?span=${shared.ids.root}`);
  await page.waitForSelector('.span-panel tr[data-attr-key="http.request.body"]');
  const json = await page.textContent('.span-panel tr[data-attr-key="http.request.body"] pre.code-value.json');
  assert(json.includes('\n  "items": [') && json.includes('"coupon": null'), `pretty JSON: ${json}`);
  const font = await page.$eval('.span-panel tr[data-attr-key="db.statement"] td.val', (td) => getComputedStyle(td).fontFamily);
  assert(/mono/i.test(font), `code-like values in monospace: ${font}`);
  const w0 = (await (await page.$('.span-panel')).boundingBox()).width;
  const h = await (await page.$('.panel-resize')).boundingBox();
  await page.mouse.move(h.x + h.width / 2, h.y + 40);
  await page.mouse.down();
  await page.mouse.move(h.x - 200, h.y + 40, { steps: 5 });
  await page.mouse.up();
  const w1 = (await (await page.$('.span-panel')).boundingBox()).width;
  assert(w1 > w0 + 150, `panel widened from ${w0} to ${w1}`);
  await page.reload();
  await page.waitForSelector('.span-panel');
  const w2 = (await (await page.$('.span-panel')).boundingBox()).width;
  assert(Math.abs(w2 - w1) < 2, `width remembered: ${w1} then ${w2}`);
  await page.evaluate(() => localStorage.removeItem('tracehouse.spanPanel.width'));
});

test('the span name column resizes and is remembered', async () => {
  await page.goto(`${base}/traces/${checkout.traceId}`);
  await page.waitForSelector('.wf-row');
  const col = () => page.$eval('.wf-row .wf-name-col', (c) => c.getBoundingClientRect().width);
  const w0 = await col();
  const h = await (await page.$('.col-resize')).boundingBox();
  await page.mouse.move(h.x + h.width / 2, h.y + 5);
  await page.mouse.down();
  await page.mouse.move(h.x + 150, h.y + 5, { steps: 5 });
  await page.mouse.up();
  const w1 = await col();
  assert(w1 > w0 + 100, `name column widened from ${w0} to ${w1}`);
  await page.reload();
  await page.waitForSelector('.wf-row');
  assert(Math.abs((await col()) - w1) < 2, 'name column width remembered');
  await page.evaluate(() => localStorage.removeItem('tracehouse.waterfall.nameWidth'));
});

test('critical path is made of sections on the waterfall and the flame graph', async () => {
  await page.goto(`${base}/traces/${checkout.traceId}`);
  await page.waitForSelector('.wf-row');
  const sections = await page.$$eval('.wf-row .crit-section', (xs) => xs.length);
  assert(sections >= 3, `critical sections drawn: ${sections}`);
  // The waterfall draws the server's sections, one for one (the rule exists once, in Rust).
  const api = await (await fetch(`${base}/api/v1/traces/${checkout.traceId}?critical_path=true`)).json();
  eq(sections, api.critical_path.length, 'one drawn section per section the API answers');
  // 'render error page' runs beside 'publish order event', which the root waited for: not critical.
  eq((await page.$$(`.wf-row[data-span-id="${checkout.ids.render}"] .crit-section`)).length, 0, 'render error page is off the critical path');
  const part = await page.$eval(`.wf-row[data-span-id="${checkout.ids.root}"] .wf-bar`, (bar) => {
    const w = bar.getBoundingClientRect().width;
    return [...bar.querySelectorAll('.crit-section')].map((s) => s.getBoundingClientRect().width / w);
  });
  assert(part.length >= 1 && part.every((f) => f < 0.9), `the root is critical in parts, not whole: ${part}`);
  await page.click('button[role=tab]:has-text("Flame graph")');
  await page.waitForSelector('.flame-node .crit-section');
  await page.click('button[role=tab]:has-text("Waterfall")');
});

test('trace statistics: a sortable table by service and name whose row filters the waterfall', async () => {
  await page.goto(`${base}/traces/${checkout.traceId}?tab=stats`);
  await page.waitForSelector('.stats-table tbody tr');
  const groups = () => page.$$eval('.stats-table tbody tr:not(.sub)', (rs) => rs.map((r) => r.getAttribute('data-group')));
  // Largest self time first: frontend's root waits on little; db is 40 + 10 + 20 ms of its own.
  eq((await groups()).length, 4, 'one row per service');
  const db = await page.$eval('.stats-table tr[data-group="service = db"]', (r) => [...r.cells].map((c) => c.textContent));
  eq(db[1], '3', 'db spans');
  eq(db[2], '90ms', 'db total');
  eq(db[6], '70ms', 'db self time (the ledger append is not the insert\'s own time)');
  await page.click('.stats-table button[data-col=count]');
  eq((await groups())[0], 'service = checkout', 'most spans first');
  await page.click('.stats-table button[data-col=count]');
  eq((await groups())[0], 'service = payments', 'fewest spans first');
  await page.fill('#stats-then', 'name');
  await page.press('#stats-then', 'Enter');
  await waitUrl((u) => u.searchParams.get('then') === 'name', 'then=name in the URL');
  await page.waitForSelector('.stats-table tr.sub');
  eq((await page.$$('.stats-table tr.sub')).length, checkout.spans.length, 'one subgroup per (service, name)');
  for (const width of [1440, 900, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await shot(`11-trace-stats-${width}`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  await axe('trace statistics');
  await page.click('.stats-table tr[data-group="service = db"]');
  await page.waitForSelector('[data-testid=stats-pick]');
  await page.waitForSelector('.wf-row');
  const ids = await rowIds();
  for (const k of ['cartdb', 'paydb', 'ledger', 'root', 'cart', 'pay']) assert(ids.includes(checkout.ids[k]), `${k} shown: the db spans and their ancestors`);
  for (const k of ['auth', 'fraud', 'tax']) assert(!ids.includes(checkout.ids[k]), `${k} filtered out`);
  await page.click('[data-testid=stats-pick] button');
  await page.waitForFunction((n) => document.querySelectorAll('.wf-row').length === n, checkout.spans.length, { timeout: 3000 });
});

test('two traces picked in the results are compared: the retry added, the slower call coloured', async () => {
  // Two hours back, outside the window other tests count in.
  const t0 = now - 2 * 3600e9;
  const { normal, slow } = comparePair(t0);
  await post(otlp([...normal.spans, ...slow.spans]));
  await waitTrace(normal.traceId, normal.spans.length);
  await waitTrace(slow.traceId, slow.spans.length);
  const window = `start=${new Date((t0 - 60e9) / 1e6).toISOString()}&end=${new Date((t0 + 60e9) / 1e6).toISOString()}`;
  await page.goto(`${base}/?view=traces&query=${encodeURIComponent('service_name:cmp-web')}&${window}`);
  await page.waitForSelector(`tr[data-trace-id="${slow.traceId}"]`);
  await page.check(`tr[data-trace-id="${normal.traceId}"] .compare-check`);
  await page.check(`tr[data-trace-id="${slow.traceId}"] .compare-check`);
  await page.click('a:has-text("Compare 2 traces")');
  await waitUrl((u) => u.pathname === '/traces/compare' && u.searchParams.get('a') === normal.traceId && u.searchParams.get('b') === slow.traceId, 'the comparison of the two, the first picked as A');
  await page.waitForSelector('.cmp-table tbody tr');
  eq(await page.textContent('[data-testid=added-subtrees]'), '1', 'one added subtree');
  eq(await page.textContent('[data-testid=missing-subtrees]'), '0', 'nothing missing');
  const rows = await page.$$eval('.cmp-table tbody tr', (rs) => rs.map((r) => [r.dataset.name, r.dataset.presence, r.querySelector('[data-col=self]').textContent]));
  eq(JSON.stringify(rows.map(([n, p]) => `${n}:${p}`)), JSON.stringify(['GET /checkout:both', 'charge:both', 'INSERT:both', 'charge:added', 'INSERT:added', 'load cart:both', 'SELECT:both']), 'aligned rows');
  eq(JSON.stringify(rows.filter(([, p, d]) => p === 'both' && d !== '±0').map(([n, , d]) => `${n} ${d}`)), JSON.stringify(['SELECT +30ms']), 'only the database call changed its own time');
  const coloured = await page.$eval('.cmp-table tr[data-name="SELECT"] [data-col=self]', (c) => getComputedStyle(c).backgroundColor);
  assert(coloured.startsWith('rgba(220, 38, 38'), `the slower call is red: ${coloured}`);
  assert((await page.$$('.cmp-table tr.added .cmp-bar.b')).length === 2 && (await page.$$('.cmp-table tr.added .cmp-bar.a')).length === 0, 'added spans have only a B bar');
  for (const width of [1440, 900, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await shot(`12-compare-${width}`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  await axe('trace comparison');
  // The same alignment as a flame graph: B's spans, the retry outlined, the slower call red.
  await page.click('button[role=tab]:has-text("Flame graph")');
  await page.waitForSelector('.cmp-flame .flame-node');
  eq((await page.$$('.cmp-flame .flame-node')).length, 7, 'one box per aligned span');
  eq((await page.$$('.cmp-flame .flame-node[data-presence=added]')).length, 2, 'the retry subtree');
  const red = await page.$eval('.cmp-flame .flame-node[data-name="SELECT"]', (b) => getComputedStyle(b).backgroundColor);
  assert(red.startsWith('rgba(220, 38, 38'), `the slower call is red: ${red}`);
  const rowsOf = await page.$$eval('.cmp-flame .flame-node', (bs) => new Set(bs.map((b) => b.style.top)).size);
  eq(rowsOf, 3, 'three levels, the retry in its parent\'s row beside the first charge');
  await shot('12-compare-flame');
  await page.click('button[role=tab]:has-text("Waterfall")');
  // From a trace: compare it with another by id.
  await page.goto(`${base}/traces/${slow.traceId}`);
  await page.fill('#compare-with', normal.traceId);
  await page.click('.compare-with button[type=submit]');
  await waitUrl((u) => u.pathname === '/traces/compare' && u.searchParams.get('a') === slow.traceId && u.searchParams.get('b') === normal.traceId, 'the comparison from the trace page');
  await page.waitForSelector('.cmp-table tr.missing');
  eq(await page.textContent('[data-testid=missing-subtrees]'), '1', 'the other way round the retry is missing');
  // From a trace: compare it with a typical one of its root operation (the other checkout,
  // 100 ms: the median of the two).
  await page.goto(`${base}/traces/${slow.traceId}`);
  await page.click('.compare-with button:has-text("Compare with typical")');
  await waitUrl((u) => u.pathname === '/traces/compare' && u.searchParams.get('a') === slow.traceId && u.searchParams.get('b') === normal.traceId, 'the comparison with the typical trace');
  await page.waitForSelector('.cmp-table tr.missing');
});

test('a child timed by a skewed clock is moved into its parent and marked', async () => {
  await page.goto(`${base}/traces/${SKEW_TRACE}`);
  const badge = `.wf-row[data-span-id="${skewIds.child}"] .badge.skew`;
  await page.waitForSelector(badge);
  const title = (await page.getAttribute(badge, 'title')) ?? '';
  assert(title.startsWith('clock skew adjusted by +'), `waterfall badge tooltip: ${title}`);
  eq((await page.$$(`.wf-row[data-span-id="${skewIds.parent}"] .badge.skew`)).length, 0, 'the parent is not marked');
  await page.click(`.wf-row[data-span-id="${skewIds.child}"]`);
  await page.waitForSelector('.span-panel .badge.skew');
  eq(await page.textContent('.span-panel .badge.skew'), title, 'span panel marker');
});

test('a 3000-span trace renders virtualised', async () => {
  const t = Date.now();
  await page.goto(`${base}/traces/${large.traceId}`);
  await page.waitForSelector('.wf-row');
  const ms = Date.now() - t;
  eq(await page.textContent('[data-testid=span-count]'), '3000', 'span count');
  const dom = (await rowIds()).length;
  assert(dom < 200, `only visible rows are in the DOM, got ${dom}`);
  for (let i = 0; i < 20; i++) await page.keyboard.press('j');
  const sel = await selectedRow();
  assert(sel, 'a row is selected after moving down');
  await page.$eval('.wf-scroll', (el) => (el.scrollTop = el.scrollHeight));
  await sleep(100);
  assert((await rowIds()).length < 200, 'still virtualised at the bottom');
  await shot('09-trace-large');
  console.log(`    (3000-span trace shown in ${ms} ms)`);
});

/** Pairs of flame graph boxes in the same row that overlap by more than a pixel. */
const flameOverlaps = () =>
  page.$$eval('.flame-node', (nodes) => {
    const byRow = new Map();
    for (const n of nodes) {
      const r = n.getBoundingClientRect();
      const row = n.getAttribute('data-row');
      if (!byRow.has(row)) byRow.set(row, []);
      byRow.get(row).push([r.left, r.right, r.top, r.bottom]);
    }
    let bad = 0;
    for (const boxes of byRow.values()) {
      boxes.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < boxes.length; i++) if (boxes[i][0] < boxes[i - 1][1] - 1) bad++;
    }
    const tops = new Set([...nodes].map((n) => Math.round(n.getBoundingClientRect().top)));
    return { bad, rows: byRow.size, tops: tops.size };
  });

test('flame graph lays concurrent siblings out in lanes, with a time axis', async () => {
  await page.goto(`${base}/traces/${large.traceId}?tab=flame`);
  await page.waitForSelector('.flame-node');
  const { bad, rows } = await flameOverlaps();
  eq(bad, 0, 'overlapping boxes in a row');
  assert(rows > 10, `lanes used: ${rows} rows`);
  const ticks = await page.$$eval('.flame-axis span', (s) => s.map((x) => x.textContent));
  assert(ticks.length >= 4, `time axis ticks: ${ticks}`);
  await shot('09b-trace-large-flame');
});


test('no serious accessibility violations (axe-core)', async () => {
  await page.goto(`${base}/?range=1h`);
  await page.waitForSelector('table.results tbody tr');
  await axe('search page');
  await page.goto(`${base}/traces/${checkout.traceId}?span=${checkout.ids.pay}`);
  await page.waitForSelector('.wf-row');
  await axe('trace page');
  await page.click('button[role=tab]:has-text("Flame graph")');
  await page.waitForSelector('.flame-node');
  await axe('flame graph');
});

test('dark theme', async () => {
  await page.goto(`${base}/traces/${checkout.traceId}?span=${checkout.ids.pay}`);
  await page.waitForSelector('.wf-row');
  const before = await page.getAttribute('html', 'data-theme');
  if (before !== 'dark') await page.click('button:has-text("Dark")');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark', null, { timeout: 3000 });
  await shot('10-trace-dark');
  await axe('trace page (dark)');
  await page.click('button:has-text("Light")');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light', null, { timeout: 3000 });
});

// ---- logs, errors, sessions ------------------------------------------------------------------
const mainNav = (label) => page.click(`nav[aria-label="Main"] a:has-text("${label}")`);
const logRows = () => page.$$eval('.log-row', (rs) => rs.map((r) => ({ level: r.querySelector('.lvl')?.textContent, body: r.querySelector('.log-body')?.textContent })));
const logCount = async () => Number(((await page.textContent('.results-head .count')) ?? '').replace(/[^0-9]/g, ''));
test('the main navigation opens the logs page, which lists seeded lines virtualised', async () => {
  await page.goto(`${base}/`);
  await mainNav('Logs');
  await waitUrl((u) => u.pathname === '/logs', 'went to /logs');
  eq(await page.getAttribute('nav[aria-label="Main"] a[aria-current="page"]', 'href'), '/logs', 'active nav entry');
  await page.waitForSelector('.log-row');
  const rows = await logRows();
  assert(rows.some((r) => r.body === 'inventory lookup failed for sku-1'), `seeded error line among the first rows: ${JSON.stringify(rows.slice(0, 8))}`);
  assert(rows.length < 120, `only visible rows are in the DOM, got ${rows.length}`);
  await page.waitForSelector('.hist-svg rect.lvl-fill-debug');
  assert((await page.$$('.hist-svg rect.lvl-fill-error')).length > 0, 'error level stacked in the histogram');
  assert((await page.$$('.histogram .legend .sw.lvl-fill-warn')).length === 1, 'warn level in the legend');
  const first = await logCount();
  assert(first >= 200 && first < NOISE, `first page only, got ${first}`);
  for (let i = 0; i < 30 && (await logCount()) <= first; i++) {
    await page.$eval('.log-scroll', (el) => (el.scrollTop = el.scrollHeight));
    await sleep(100);
  }
  assert((await logCount()) > first, 'scrolling to the end loads the next page');
  assert((await page.$$('.log-row')).length < 120, 'still virtualised after loading more');
  await shot('11-logs');
}, { needs: 'logs' });

test('level:error narrows the log lines; keyboard moves and expands', async () => {
  await typeQuery('level:error');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('.log-row')];
    return rows.length > 0 && rows.every((r) => r.querySelector('.lvl').textContent === 'error');
  }, null, { timeout: 5000 });
  const rows = await logRows();
  eq(rows.length, 2, 'error lines (one per seeded request)');
  assert(rows.every((r) => r.body === 'inventory lookup failed for sku-1'), `bodies ${JSON.stringify(rows)}`);
  await page.focus('.log-line[data-index="0"]');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-index') === '1', null, { timeout: 3000 }).catch(() => {
    throw new AssertionError('ArrowDown should focus the next line');
  });
  await page.keyboard.press('Enter');
  await page.waitForSelector('.log-line[data-index="1"][aria-expanded="true"]');
  assert(url().searchParams.get('log'), 'the expanded line is in the URL');
  await page.keyboard.press('Escape');
  await waitUrl((u) => !u.searchParams.get('log'), 'collapsed by Escape');
}, { needs: 'logs' });

test('a query syntax error on the logs page is marked inline', async () => {
  await typeQuery('level:(error OR');
  await page.waitForSelector('.querybar [data-error]', { timeout: 5000 });
  eq(await page.getAttribute('#query', 'aria-invalid'), 'true', 'aria-invalid on the query input');
  await typeQuery('level:error');
  await page.waitForSelector('.log-row');
}, { needs: 'logs' });

test('expanding a log line shows its attributes, and "open trace" lands on its span', async () => {
  await page.click('.log-line[data-index="0"]');
  await page.waitForSelector('.log-detail tr[data-attr-key="cart.sku"]');
  eq(await page.textContent('.log-detail tr[data-attr-key="cart.sku"] td.val'), 'sku-1', 'record attribute');
  eq(await page.textContent('.log-detail tr[data-attr-key="retry.count"] td.val'), '2', 'numeric attribute');
  eq(await page.textContent('.log-detail tr[data-attr-key="host.name"] td.val'), 'cart-host-1', 'resource attribute');
  eq(await page.textContent('.log-detail tr[data-attr-key="trace_id"] td.val'), sessB.traceId, 'trace id (newest first: the second request)');
  eq(await page.textContent('.log-detail tr[data-attr-key="session_id"] td.val'), SESSION, 'session id');
  // The expanded row pushes the next one down instead of overlapping it.
  const [a, b] = await page.$$eval('.log-row', (rs) => rs.slice(0, 2).map((r) => r.getBoundingClientRect()));
  assert(b.top >= a.bottom - 1, `rows overlap: ${JSON.stringify([a, b])}`);
  await shot('12-logs-expanded');
  await axe('logs page');
  await page.click('.log-detail a.open-trace');
  await waitUrl((u) => u.pathname === `/traces/${sessB.traceId}`, 'opened the trace');
  await page.waitForSelector('.wf-row.selected');
  eq(await selectedRow(), sessB.ids.load, 'the log line\'s span is selected');
}, { needs: 'logs' });

test('the span panel shows the span\'s logs and errors, and the header links its errors and session', async () => {
  await page.goto(`${base}/traces/${sessA.traceId}?span=${sessA.ids.load}`);
  await page.waitForSelector('.span-panel section[aria-label="Logs"] li');
  const logs = await page.$$eval('.span-panel section[aria-label="Logs"] li', (ls) => ls.map((l) => l.textContent));
  eq(logs.length, 2, 'logs of the selected span');
  assert(logs[0].includes('loading cart') && logs[1].includes('inventory lookup failed'), `log lines ${JSON.stringify(logs)}`);
  assert((await page.$$eval('.span-panel section[aria-label="Logs"] .lvl-error', (x) => x.length)) === 1, 'level badge');
  const exc = await page.textContent('.span-panel .exception');
  assert(exc.includes('E2eInventoryError') && exc.includes('cart/inventory.py:88'), `exception ${exc}`);
  assert(await page.$('.span-panel .exception a.group-link'), 'link to the error group');
  assert((await page.textContent('[data-testid=trace-errors]')).includes('E2eInventoryError'), 'error group in the header');
  eq(await page.textContent('.trace-head a.session-link'), SESSION, 'session link in the header');
  await page.click(`.wf-row[data-span-id="${sessA.ids.db}"]`);
  await page.waitForFunction(() => document.querySelector('.span-panel section[aria-label="Logs"]')?.textContent.includes('slow stock query'));
  assert(!(await page.$('.span-panel .exception')), 'the db span has no errors');
  await shot('13-trace-logs');
  await page.click('.span-panel a:has-text("all logs of this trace")');
  await waitUrl((u) => u.pathname === '/logs' && u.searchParams.get('query') === `trace_id:${sessA.traceId}`, 'went to the logs of the trace');
  await page.waitForFunction(() => document.querySelectorAll('.log-row').length === 3, null, { timeout: 5000 });
}, { needs: 'logs' });

test('the errors page groups the same exception from two traces', async () => {
  await mainNav('Errors');
  await waitUrl((u) => u.pathname === '/errors', 'went to /errors');
  await page.waitForSelector('table.error-groups tbody tr');
  const groups = await page.$$eval('table.error-groups tbody tr', (rs) => rs.map((r) => ({ fp: r.getAttribute('data-fingerprint'), text: r.textContent, count: r.querySelector('[data-testid=group-count]').textContent })));
  const ours = groups.filter((g) => g.text.includes('E2eInventoryError'));
  eq(ours.length, 1, 'one group for the exception thrown in two traces');
  eq(ours[0].count, '2', 'its count');
  assert(groups.some((g) => g.text.includes('CardDeclined')), 'the checkout errors form their own group');
  assert(await page.$(`tr[data-fingerprint="${ours[0].fp}"] svg.sparkline path.spark-line`), 'trend sparkline');
  // The fixtures' errors are hours old at most: on the 24-hour default the trends start at the
  // first of them, and a bucket with one error stands off the baseline (y 26 in a 28 px box).
  const trendHead = await page.textContent('table.error-groups thead th:last-child');
  assert(/^Trend since \d\d:\d\d$/.test(trendHead.trim()), `trend header: ${trendHead}`);
  const peaks = await page.$$eval('table.error-groups svg.sparkline path.spark-line', (ps) => ps.map((p) => Math.min(...p.getAttribute('d').match(/-?[\d.]+ -?[\d.]+/g).map((xy) => Number(xy.split(' ')[1])))));
  assert(peaks.length > 0 && peaks.every((y) => y <= 22), `every trend rises at least 4 px: top y ${peaks}`);
  await shot('14-errors');
  await axe('errors page');
  await page.fill('#error-filter', 'inventoryerr');
  await waitUrl((u) => u.searchParams.get('text') === 'inventoryerr', 'filter in the URL');
  await page.waitForFunction(() => document.querySelectorAll('table.error-groups tbody tr').length === 1, null, { timeout: 5000 });
  await page.click('table.error-groups tbody tr a.error-type');
  await waitUrl((u) => u.pathname === `/errors/${ours[0].fp}`, 'opened the group');
  await page.waitForSelector('pre.group-stack');
  eq(await page.textContent('[data-testid=group-count]'), '2', 'occurrences in the header');
  eq(await page.textContent('[data-testid=group-traces]'), '2', 'traces in the header');
  const trendFrom = Date.parse((await page.textContent('.trend-axis span:first-child')).replace(' ', 'T'));
  assert(Date.now() - trendFrom < 6 * 3600e3, `on the 24-hour default the trend starts at the first occurrence, not a day ago: ${new Date(trendFrom)}`);
  const stack = await page.textContent('pre.group-stack');
  assert(stack.includes('\n    at reserve (cart/inventory.py:88)\n'), `stack keeps its lines: ${JSON.stringify(stack)}`);
  const occ = await page.$$eval('table.occurrences tbody tr', (rs) => rs.map((r) => r.getAttribute('data-trace-id')));
  eq(occ.length, 2, 'occurrence rows');
  eq(occ[0], sessB.traceId, 'newest occurrence first');
  assert(await page.$(`table.occurrences a.session-link:has-text("${SESSION}")`), 'occurrence links to its session');
  await shot('15-error-group');
  await axe('error group page');
  await page.click('table.occurrences tbody tr:last-child a.trace-link');
  await waitUrl((u) => u.pathname === `/traces/${sessA.traceId}` && u.searchParams.get('span') === sessA.ids.load, 'opened the trace at the throwing span');
  await page.waitForSelector('.wf-row.selected');
}, { needs: 'logs' });

test('the sessions page lists the session; its page shows traces, errors and logs on one timeline', async () => {
  await mainNav('Sessions');
  await waitUrl((u) => u.pathname === '/sessions', 'went to /sessions');
  await page.waitForSelector(`table.sessions tr[data-session-id="${SESSION}"]`);
  const row = await page.textContent(`table.sessions tr[data-session-id="${SESSION}"]`);
  assert(row.includes('web') && row.includes('cart'), `services in the row: ${row}`);
  await axe('sessions page');
  await page.click(`table.sessions tr[data-session-id="${SESSION}"] a`);
  await waitUrl((u) => u.pathname === `/sessions/${SESSION}`, 'opened the session');
  await page.waitForSelector('.timeline .tl-bar');
  eq(await page.textContent('[data-testid=session-traces]'), '2', 'trace count');
  eq((await page.$$('.timeline .tl-bar')).length, 2, 'trace bars');
  assert((await page.$$('.timeline .tl-err')).length >= 1, 'error markers');
  const levels = await page.$$eval('.timeline .tl-row .tl-label .lvl', (ls) => ls.map((l) => l.textContent));
  eq(JSON.stringify(levels), JSON.stringify(['error', 'warn', 'info']), 'one log row per level, most severe first');
  eq((await page.$$('table.session-traces tbody tr')).length, 2, 'traces list');
  eq((await page.$$('table.occurrences tbody tr')).length, 2, 'errors list');
  eq((await page.$$('.session-page .log-row')).length, 6, 'logs list');
  await shot('16-session');
  await axe('session page');
  await page.click(`.timeline .tl-bar[data-trace-id="${sessA.traceId}"]`);
  await waitUrl((u) => u.pathname === `/traces/${sessA.traceId}`, 'opened the trace from the timeline');
  await page.waitForSelector('.wf-row');
  eq((await rowIds()).length, 3, 'trace rows');
}, { needs: 'logs' });

test('the sessions list shows a browser session\'s pages, requests, browser and route', async () => {
  await page.goto(`${base}/sessions`);
  const row = `table.sessions tr[data-session-id="${PAGES_SESSION}"]`;
  await page.waitForSelector(row);
  const cell = (col) => page.textContent(`${row} td[data-col=${col}]`);
  eq(await cell('pages'), '2', 'page loads');
  eq(await cell('requests'), '1', 'requests of the browser');
  eq(await cell('browser'), 'Chrome 131 on Linux', 'browser from the user agent');
  eq((await cell('summary')).trim(), '/ → /checkout', 'entry page → last page');
  await page.fill('#session-filter', 'checkout');
  await page.waitForFunction((r) => document.querySelectorAll('table.sessions tbody tr').length === 1 && document.querySelector(r), row);
  await page.fill('#session-filter', '');
  await axe('sessions list with browser sessions');
  try {
    for (const width of [1440, 900, 390]) {
      await page.setViewportSize({ width, height: 900 });
      eq(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 0, `the page fits ${width} px (the table scrolls)`);
      await shot(`16b-sessions-list-${width}`);
    }
  } finally {
    await page.setViewportSize({ width: 1440, height: 900 });
  }
}, { needs: 'logs' });

test('a trace of a recorded session links to the replay at the trace\'s start', async () => {
  await page.goto(`${base}/traces/${sessA.traceId}`);
  await page.waitForSelector('.trace-head a.session-link');
  await page.waitForLoadState('networkidle');
  assert(!(await page.$('a.watch-session')), 'no link for a session without a recording');
  await page.goto(`${base}/traces/${replayed.traceId}`);
  await page.waitForSelector(`a.watch-session[data-session-id="${REPLAY_SESSION}"]`);
  await axe('trace with a replay link');
  await page.click('a.watch-session');
  await waitUrl((u) => u.pathname === `/sessions/${REPLAY_SESSION}` && u.searchParams.get('at') !== null, 'opened the session at the trace');
  await page.waitForSelector('.replay-stage iframe');
  // The recording starts a second before the request: the player starts there, not at zero.
  await page.waitForFunction(() => (document.querySelector('[data-testid=replay-time]')?.textContent ?? '').startsWith('1'));
  const cursor = await page.$eval('.timeline .tl-cursor', (c) => parseFloat(c.style.left));
  assert(cursor > 0, `the timeline cursor moved to the trace (${cursor}%)`);
}, { needs: 'logs' });

test('a session with a recording plays it on the timeline\'s clock: seeking moves the cursor, clicking seeks the player', async () => {
  await page.goto(`${base}/sessions/${REPLAY_SESSION}`);
  await page.waitForSelector('.replay-stage iframe');
  const frameText = (sel) => page.evaluate((s) => document.querySelector('.replay-stage iframe')?.contentDocument?.querySelector(s)?.textContent ?? null, sel);
  const cursorLeft = () => page.$eval('.timeline .tl-cursor', (c) => parseFloat(c.style.left));
  for (let i = 0; i < 50 && (await frameText('h1')) !== 'Tea shop'; i++) await sleep(100);
  eq(await frameText('h1'), 'Tea shop', 'the player shows the recorded page');
  eq(await frameText('#out'), null, 'not yet bought at the start');
  eq(await cursorLeft(), 0, 'the cursor starts at the recording\'s start');
  await shot('19-session-replay');
  await axe('session page with a replay');

  // Clicking the error seeks the player to it, and the page stays.
  await page.click('.timeline .tl-err');
  await page.waitForFunction(() => parseFloat(document.querySelector('.timeline .tl-cursor')?.style.left ?? '0') > 0);
  eq(url().pathname, `/sessions/${REPLAY_SESSION}`, 'clicking the error seeks instead of leaving');
  const atError = await cursorLeft();
  const errLeft = await page.$eval('.timeline .tl-err', (e) => parseFloat(e.style.left));
  assert(Math.abs(atError - errLeft) < 1, `cursor ${atError}% at the error ${errLeft}%`);
  assert((await page.textContent('[data-testid=replay-time]')).startsWith('1'), `player time ${await page.textContent('[data-testid=replay-time]')}`);
  await page.waitForSelector(`[data-testid=replay-now] a[data-trace-id="${replayed.traceId}"]`);
  eq(await frameText('#out'), null, 'still not bought at the error');

  // Playing moves the cursor along.
  await page.click('.replay-controls button[aria-label=Play]');
  await page.waitForFunction((before) => parseFloat(document.querySelector('.timeline .tl-cursor')?.style.left ?? '0') > before + 3, atError);

  // Moving the player to the end moves the cursor along, and the page shows what was bought.
  await page.$eval('.replay-scrub', (el) => {
    el.value = el.max;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.waitForFunction((before) => parseFloat(document.querySelector('.timeline .tl-cursor')?.style.left ?? '0') > before + 10, atError);
  for (let i = 0; i < 30 && (await frameText('#out')) !== 'Green tea'; i++) await sleep(100);
  eq(await frameText('#out'), 'Green tea', 'the recorded mutation at the end');

  // A request bar seeks too; the request in flight opens its backend trace.
  await page.click(`.timeline .tl-bar[data-trace-id="${replayed.traceId}"]`);
  await page.waitForFunction((before) => parseFloat(document.querySelector('.timeline .tl-cursor')?.style.left ?? '100') < before, atError + 10);
  eq(url().pathname, `/sessions/${REPLAY_SESSION}`, 'clicking the bar seeks');
  await page.click(`[data-testid=replay-now] a[data-trace-id="${replayed.traceId}"]`);
  await waitUrl((u) => u.pathname === `/traces/${replayed.traceId}`, 'opened the request\'s trace');
  await page.waitForSelector('.wf-row');
}, { needs: 'logs' });

test('the sessions list filters by id or service, in the URL', async () => {
  await page.goto(`${base}/sessions`);
  await page.waitForSelector('table.sessions tbody tr');
  await page.fill('#session-filter', SESSION.slice(0, 12));
  await page.waitForFunction(() => document.querySelectorAll('table.sessions tbody tr').length === 1);
  eq(url().searchParams.get('text'), SESSION.slice(0, 12), 'filter text in the URL');
  await page.fill('#session-filter', 'no-such-session-or-service');
  await page.waitForFunction(() => document.querySelectorAll('table.sessions tbody tr').length === 0);
  await page.fill('#session-filter', '');
}, { needs: 'logs' });

test('deep links open the logs, errors and sessions pages', async () => {
  for (const path of ['/logs', '/errors', '/errors/0123456789abcdef', '/sessions', `/sessions/${SESSION}`]) {
    const r = await fetch(base + path);
    assert(r.ok && (r.headers.get('content-type') ?? '').startsWith('text/html'), `GET ${path} should serve the app (a client route in crates/server/src/ui.rs), got ${r.status}`);
  }
  await page.goto(`${base}/logs?query=${encodeURIComponent('level:warn')}`);
  await page.waitForSelector('.log-row');
  eq((await logRows()).every((r) => r.level === 'warn'), true, 'the query from the URL applies');
  await page.goto(`${base}/errors?text=E2eInventory&range=24h`);
  await page.waitForSelector('table.error-groups tbody tr');
  await page.goto(`${base}/sessions/${SESSION}`);
  await page.waitForSelector('.timeline .tl-bar');
}, { needs: 'logs' });

test('logs and session pages in the dark theme', async () => {
  await page.goto(`${base}/`);
  await mainNav('Sessions');
  await page.click(`table.sessions tr[data-session-id="${SESSION}"] a`);
  await page.waitForSelector('.timeline .tl-bar');
  if ((await page.getAttribute('html', 'data-theme')) !== 'dark') await page.click('button:has-text("Dark")');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark', null, { timeout: 3000 });
  await shot('17-session-dark');
  await axe('session page (dark)');
  await mainNav('Logs');
  await page.waitForSelector('.log-row');
  await page.click('.log-line[data-index="0"]');
  await page.waitForSelector('.log-detail');
  await shot('18-logs-dark');
  await axe('logs page (dark)');
  await page.click('button:has-text("Light")');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light', null, { timeout: 3000 });
}, { needs: 'logs' });

servicesTests({ test, page, base, shot, axe, waitUrl, url, assert, eq, calls, others: [mapService], environment: CALLS_ENV });
metricsTests({ test, page, base, shot, axe, waitUrl, url, assert, eq, t0: METRICS_T0, exemplar: { traceId: checkout.traceId, spanId: checkout.ids.pay } });

// ---- layout at 1440, 900 and 390 px wide, both themes ----------------------------------------
const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
/** The outermost elements reaching past the viewport's right edge, to name in a failure. */
const overflowing = () =>
  page.evaluate(() => {
    const reaches = (e) => e.getBoundingClientRect().right > window.innerWidth + 0.5;
    const clipped = (e) => {
      for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible' && !reaches(a)) return true;
      return false;
    };
    const past = [...document.querySelectorAll('body *')].filter((e) => reaches(e) && !clipped(e));
    const outer = past.filter((e) => !past.includes(e.parentElement));
    return outer
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''} (right ${Math.round(e.getBoundingClientRect().right)})`)
      .join(', ');
  });

for (const width of [1440, 900, 390]) {
  test(`layout at ${width} px: nothing overflows, the waterfall has rows, names are shown, errors visible`, async () => {
    await page.setViewportSize({ width, height: 900 });
    const check = async (what) => {
      const o = await overflow();
      assert(o <= 0, `${what} at ${width} px overflows horizontally by ${o} px: ${o > 0 ? await overflowing() : ''}`);
    };
    try {
      for (const theme of ['light', 'dark']) {
        await page.goto(`${base}/?range=1h`);
        await page.evaluate((th) => localStorage.setItem('tracehouse.theme', th), theme);
        await page.reload();
        await page.waitForSelector('table.results tbody tr');
        await page.waitForSelector('.hist-svg rect.bar-err');
        await check('the search page');
        const errH = await page.$$eval('.hist-svg rect.bar-err', (rs) => rs.map((r) => r.getBoundingClientRect().height));
        assert(errH.length > 0 && errH.every((h) => h >= 1.9), `error segments at least 2 px tall: ${errH.map((h) => h.toFixed(2))}`);
        const aligned = await page.$$eval('table.results td.num, table.results th.num', (cs) => cs.length > 0 && cs.every((c) => getComputedStyle(c).textAlign === 'right'));
        assert(aligned, 'number columns are right-aligned');
        if (theme === 'light') await shot(`20-search-${width}`);
        await axe(`search page at ${width} px (${theme})`);
        await page.click('details.saved-views summary');
        await page.waitForSelector('details.saved-views[open] #view-name');
        await check('the saved views menu');
        const menu = await page.$eval('details.saved-views .popover', (m) => { const r = m.getBoundingClientRect(); return { left: r.left, right: r.right }; });
        assert(menu.left >= 0 && menu.right <= width, `the saved views menu is on screen at ${width} px: ${JSON.stringify(menu)}`);
        await axe(`saved views at ${width} px (${theme})`);

        await page.goto(`${base}/traces/${checkout.traceId}?span=${checkout.ids.pay}`);
        await page.waitForSelector('.wf-row');
        await check('the trace page');
        const scrollH = await page.$eval('.wf-scroll', (el) => el.clientHeight);
        assert(scrollH >= 150, `the waterfall's scroll area is ${scrollH} px tall`);
        eq((await rowIds()).length, 12, 'waterfall rows');
        const names = await page.$$eval('.wf-row .wf-span-name', (ns) => ns.map((n) => ({ shown: n.clientWidth, full: n.scrollWidth, title: n.getAttribute('title') ?? '' })));
        const hidden = names.filter((n) => n.full > n.shown + 1 && !n.title);
        eq(hidden.length, 0, 'truncated names without a tooltip');
        if (width >= 900) {
          const tiny = names.filter((n) => n.shown < 40);
          eq(tiny.length, 0, 'names with less than 40 px shown');
        }
        if (theme === 'light') await shot(`21-trace-${width}`);
        await axe(`trace page at ${width} px (${theme})`);

        await page.goto(`${base}/traces/${large.traceId}?tab=flame`);
        await page.waitForSelector('.flame-node');
        await check('the flame graph');
        eq((await flameOverlaps()).bad, 0, 'overlapping flame boxes');
        if (theme === 'light') await shot(`22-flame-${width}`);
        await axe(`flame graph at ${width} px (${theme})`);

        await page.goto(`${base}/services?range=6h`);
        await page.waitForSelector('table.red-table tbody tr');
        await check('the services page');
        if (theme === 'light') await shot(`24-services-${width}`);
        await axe(`services page at ${width} px (${theme})`);
        await page.goto(`${base}/services/gateway?range=6h`);
        await page.waitForSelector('.chart .uplot canvas');
        await check('the service page');
        if (theme === 'light') await shot(`25-service-${width}`);
        await axe(`service page at ${width} px (${theme})`);
        await page.goto(`${base}/service-map?range=6h`);
        await page.waitForSelector('.map-svg [data-node]');
        await check('the service map');
        if (theme === 'light') await shot(`26-service-map-${width}`);
        await axe(`service map at ${width} px (${theme})`);
        await page.goto(`${base}/metrics-explorer?metric=e2e.requests&by=route&range=1h`);
        await page.waitForSelector('.metrics-page .uplot canvas');
        await check('the metrics explorer');
        if (theme === 'light') await shot(`28-metrics-${width}`);
        await axe(`metrics explorer at ${width} px (${theme})`);
        await page.goto(`${base}/?range=6h&chart=p95(duration)&chart_by=service`);
        await page.waitForSelector('.query-chart .uplot canvas');
        await check('the search chart view');
        if (theme === 'light') await shot(`27-search-chart-${width}`);
        await axe(`search chart view at ${width} px (${theme})`);

        for (const [path, sel, name] of [
          ['/logs?range=1h', '.log-row', 'logs'],
          ['/errors?range=1h', 'table.results tbody tr', 'errors'],
          ['/sessions', 'table.sessions tbody tr', 'sessions'],
          [`/sessions/${SESSION}`, '.timeline .tl-bar', 'session'],
          [`/sessions/${REPLAY_SESSION}`, '.replay-stage iframe', 'session-replay'],
        ]) {
          if (!hasLogs) continue;
          await page.goto(`${base}${path}`);
          await page.waitForSelector(sel);
          await check(`the ${name} page`);
          if (name === 'session') {
            const ticks = await page.$$eval('.tl-axis .tl-track span', (ss) => ss.map((x) => x.getBoundingClientRect()).map((r) => [r.left, r.right]));
            assert(ticks.length >= 2, `session axis ticks: ${ticks.length}`);
            assert(ticks.every(([, right], i) => i === 0 || ticks[i - 1][1] + 4 <= ticks[i][0]), `session axis labels apart at ${width} px: ${JSON.stringify(ticks)}`);
          }
          await axe(`${name} page at ${width} px (${theme})`);
          if (theme === 'light') await shot(`23-${name}-${width}`);
        }
      }
    } finally {
      await page.evaluate(() => localStorage.setItem('tracehouse.theme', 'light'));
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });
}

test('no script errors in the console', async () => {
  assert(consoleErrors.length === 0, `console errors:\n${consoleErrors.join('\n')}`);
});

// ---- run ------------------------------------------------------------------------------------
const only = process.env.E2E_ONLY;
let passed = 0;
let failed = 0;
let skipped = 0;
for (const t of tests) {
  if (only && !t.name.includes(only)) continue;
  if (t.needs === 'search' && !hasSearch) {
    console.log(`SKIP ${t.name} (server has no /api/v1/spans/search yet)`);
    skipped++;
    continue;
  }
  if (t.needs === 'logs' && !hasLogs) {
    console.log(`SKIP ${t.name} (server has no logs, errors and sessions API yet)`);
    skipped++;
    continue;
  }
  const started = Date.now();
  try {
    await t.fn();
    console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}\n     ${String(e.message ?? e).split('\n').join('\n     ')}`);
    await page.screenshot({ path: join(OUT, `FAIL-${t.name.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => {});
  }
}
await cleanup();
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped; screenshots in ${OUT}`);
process.exit(failed ? 1 : 0);
