// Browser tests: start the real tracehouse binary, ingest traces over OTLP/HTTP JSON, then
// drive Debian's Chromium (playwright-core, never a downloaded browser) through the UI.
//
//   npm --prefix ui run e2e            (after `cargo build -p tracehouse`)
//
// Env: TRACEHOUSE_BIN (default target/debug/tracehouse), CHROMIUM (default /usr/bin/chromium),
// E2E_OUTPUT (screenshots, default ui/e2e-output), E2E_ONLY (substring filter on test names),
// E2E_HEADFUL=1 to watch.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { checkoutTrace, largeTrace, otlp, retryTrace } from './fixtures.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const require = createRequire(import.meta.url);
const BIN = process.env.TRACEHOUSE_BIN ?? join(repo, 'target/debug/tracehouse');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = resolve(process.env.E2E_OUTPUT ?? join(repo, 'ui/e2e-output'));
const FIXTURE = join(repo, '../shared/fixtures/otlp-examples/trace.json');
const FIXTURE_ALT = '/work/shared/fixtures/otlp-examples/trace.json';

function fail(msg) {
  console.error(`e2e: ${msg}`);
  process.exit(2);
}
if (!existsSync(BIN)) fail(`no binary at ${BIN}: run \`cargo build -p tracehouse\` first (or set TRACEHOUSE_BIN)`);
if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}: install Debian's chromium (\`apt-get install -y chromium\`) or set CHROMIUM`);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class AssertionError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
function eq(actual, expected, msg) {
  if (actual !== expected) throw new AssertionError(`${msg}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// ---- server ---------------------------------------------------------------------------------
const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-e2e-'));
const [apiPort, grpcPort, httpPort] = [await freePort(), await freePort(), await freePort()];
const base = `http://127.0.0.1:${apiPort}`;
const otlpUrl = `http://127.0.0.1:${httpPort}/v1/traces`;
const server = spawn(BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${apiPort}`, '--otlp-grpc', `127.0.0.1:${grpcPort}`, '--otlp-http', `127.0.0.1:${httpPort}`, '--retention', 'forever'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
});
let serverLog = '';
server.stdout.on('data', (d) => (serverLog += d));
server.stderr.on('data', (d) => (serverLog += d));
let browser;
const cleanup = async () => {
  try {
    await browser?.close();
  } catch {
    /* ignore */
  }
  server.kill('SIGTERM');
  await Promise.race([new Promise((r) => server.once('exit', r)), sleep(5000)]);
  rmSync(dataDir, { recursive: true, force: true });
};
process.on('SIGINT', async () => {
  await cleanup();
  process.exit(130);
});

async function waitHealthy() {
  for (let i = 0; i < 200; i++) {
    if (server.exitCode !== null) fail(`server exited (${server.exitCode}):\n${serverLog}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  fail(`server did not become healthy:\n${serverLog}`);
}

async function post(body) {
  const r = await fetch(otlpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  if (!r.ok) fail(`OTLP POST failed: ${r.status} ${await r.text()}`);
}

async function waitTrace(id, n) {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${base}/api/v1/traces/${id}`);
    if (r.ok) {
      const body = await r.json();
      if (body.spans.length >= n) return;
    }
    await sleep(100);
  }
  fail(`trace ${id} did not appear with ${n} spans`);
}

await waitHealthy();
const now = Date.now() * 1e6;
const retry = retryTrace(now - 20 * 60e9);
const checkout = checkoutTrace(now - 10 * 60e9, { traceId: retry.traceId, spanId: retry.rootId });
const others = Array.from({ length: 5 }, (_, i) => checkoutTrace(now - (15 + i * 5) * 60e9));
const large = largeTrace(now - 3 * 3600e9, 3000); // outside the default 1h window
const fixturePath = existsSync(FIXTURE) ? FIXTURE : FIXTURE_ALT;
await post(readFileSync(fixturePath, 'utf8'));
await post(otlp(retry.spans));
await post(otlp(checkout.spans));
for (const t of others) await post(otlp(t.spans));
await post(otlp(large.spans));
const FIXTURE_TRACE = '5b8efff798038103d269b633813fc60c';
await waitTrace(FIXTURE_TRACE, 1);
await waitTrace(checkout.traceId, 12);
await waitTrace(large.traceId, 3000);

// Which of the search endpoints exist on this server?
const hasRoute = async (path) => {
  const r = await fetch(base + path);
  if (r.status !== 404) return true;
  const body = await r.json().catch(() => ({}));
  return !/no such route/i.test(body?.error?.message ?? '');
};
const hasSearch = await hasRoute('/api/v1/spans/search?query=');
const hasHistogram = await hasRoute('/api/v1/spans/histogram?query=');
console.log(`server ${base} (search API: ${hasSearch ? 'yes' : 'no'}, histogram API: ${hasHistogram ? 'yes' : 'no'})`);

// ---- browser --------------------------------------------------------------------------------
browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: process.env.E2E_HEADFUL !== '1',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
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

test('a typed query filters the results', async () => {
  await page.click('#query');
  await page.fill('#query', '');
  await page.type('#query', 'service_name:payments');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Enter');
  await waitUrl((u) => u.searchParams.get('query') === 'service_name:payments', 'carried the query');
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('table.results tbody tr')];
    return cells.length > 0 && cells.every((r) => r.textContent.includes('payments'));
  }, null, { timeout: 5000 });
  await shot('02-search-query');
}, { needs: 'search' });

test('a query with a syntax error shows the inline error mark', async () => {
  await page.goto(`${base}/?range=1h&query=${encodeURIComponent('service_name:(checkout OR')}`);
  await page.waitForSelector('.querybar [data-error]', { timeout: 5000 });
  const msg = await page.textContent('#query-error');
  assert(msg && msg.length > 3, 'no error message under the query bar');
  eq(await page.getAttribute('#query', 'aria-invalid'), 'true', 'aria-invalid on the query input');
  await shot('03-search-error');
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

test('trace rows toggle', async () => {
  await page.goto(`${base}/?range=1h&view=traces`);
  await page.waitForSelector('table.results[aria-label="Matching traces"] tbody tr', { timeout: 5000 });
  await shot('04-search-traces');
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

test('the OTLP fixture trace (orphan span) opens', async () => {
  await page.goto(`${base}/traces/${FIXTURE_TRACE}`);
  await page.waitForSelector('.wf-row');
  eq((await rowIds()).length, 1, 'rows');
  eq(await page.textContent('.span-panel tr[data-attr-key="my.span.attr"] td.val'), 'some value', 'span attribute');
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
