// End to end in headless Chromium: a shop page using the built SDK with session replay
// (dist/tracehouse-replay.min.js)
// sends to a real tracehouse server (keyed: the page holds only the project's browser key, and
// only the page's origin is allowed by CORS); its "Buy" button fetches /api/items/tea, which this
// script's page server forwards to the `shop` example's inventory service, instrumented with
// crates/sdk (axum server span, sqlx database span). Checks: one trace from the browser's fetch
// span to the inventory's database span with the session id on both sides, the browser's error
// and console log in the session, the session's recording (inputs masked) played back by rrweb's
// Replayer with the page's text at the start and the bought item at the end, and CORS answers as
// a browser sees them from an allowed and a refused origin.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { fail, freePort, launchBrowser, repo, sleep, startServer } from '../../ui/e2e/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SDK = resolve(here, '../dist/tracehouse-replay.min.js');
const PLAYER = resolve(here, '../node_modules/@rrweb/replay/dist');
const SHOP = process.env.TRACEHOUSE_SHOP_BIN ?? join(repo, 'target/debug/examples/shop');
const SECRET = 'shop-secret';
const BROWSER_KEY = 'shop-browser';

const assert = (cond, msg) => cond || fail(msg);
if (!existsSync(SDK)) fail(`no SDK bundle at ${SDK}: run \`npm --prefix sdk-js run build\` first`);
if (!existsSync(SHOP)) fail(`no shop example at ${SHOP}: run \`cargo build -p tracehouse-sdk --example shop\` first`);

// The page's origin and a second origin the server does not allow, both served here.
const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${server.address().port}`)));
const forwarded = [];
let inventory = '';
let otlp = '';
const handler = async (req, res) => {
  if (req.url === '/sdk.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(SDK));
  } else if (req.url === '/replay.js' || req.url === '/replay.css') {
    const [file, type] = req.url === '/replay.js' ? ['replay.js', 'text/javascript'] : ['style.css', 'text/css'];
    res.writeHead(200, { 'content-type': type }).end(readFileSync(join(PLAYER, file)));
  } else if (req.url === '/player') {
    // rrweb's player, fed by the test with the events the API returned.
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
<link rel="stylesheet" href="/replay.css"><div id="root"></div>
<script type="module">
  import { Replayer } from '/replay.js';
  window.play = (events) => (window.replayer = new Replayer(events, { root: document.getElementById('root') }));
</script>`);
  } else if (req.url.startsWith('/api/')) {
    // The app's backend behind the page's origin: forwards trace context to the inventory.
    const headers = {};
    for (const h of ['traceparent', 'x-highlight-request']) if (req.headers[h]) headers[h] = req.headers[h];
    forwarded.push(headers);
    const r = await fetch(`${inventory}${req.url.slice(4)}`, { headers });
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
  } else if (req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
<title>Shop</title><h1>Tea shop</h1><input id="card" value="4111 1111"><button id="buy">Buy tea</button><p id="out"></p>
<script type="module">
  import { init, replay } from '/sdk.js';
  window.th = init({ endpoint: ${JSON.stringify(otlp)}, projectKey: ${JSON.stringify(BROWSER_KEY)}, serviceName: 'shop-web', replay: replay() });
  document.getElementById('buy').addEventListener('click', async () => {
    const item = await (await fetch('/api/items/tea')).json();
    document.getElementById('out').textContent = item.name;
    console.warn('bought', item.sku);
    setTimeout(() => { throw new Error('checkout widget crashed'); });
  });
</script>`);
  } else if (req.url === '/blank') {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Elsewhere</title>');
  } else {
    res.writeHead(404).end();
  }
};
const pageServer = createServer(handler);
const otherServer = createServer(handler);
const pageOrigin = await listen(pageServer);
const otherOrigin = await listen(otherServer);

const server = await startServer({ args: ['--project', `shop=${SECRET}`, '--browser-key', `shop=${BROWSER_KEY}`, '--cors-origin', pageOrigin] });
otlp = server.otlpUrl.replace(/\/v1\/traces$/, '');
const inventoryPort = await freePort();
inventory = `http://127.0.0.1:${inventoryPort}`;
let shopLog = '';
const shop = spawn(SHOP, ['inventory', '--listen', `127.0.0.1:${inventoryPort}`], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, TRACEHOUSE_ENDPOINT: otlp, TRACEHOUSE_KEY: SECRET, TRACEHOUSE_PROTOCOL: 'http/protobuf' },
});
shop.stdout.on('data', (d) => (shopLog += d));
shop.stderr.on('data', (d) => (shopLog += d));
const browser = await launchBrowser();
const cleanup = async () => {
  await browser.close().catch(() => {});
  shop.kill('SIGTERM');
  pageServer.close();
  otherServer.close();
  await server.stop();
};
process.on('exit', () => shop.kill('SIGKILL'));
for (let i = 0; i < 100 && !shopLog.includes('listening'); i++) await sleep(100);
assert(shopLog.includes('listening'), `inventory did not start:\n${shopLog}`);

const api = async (path) => {
  const r = await fetch(`${server.base}${path}`, { headers: { 'x-tracehouse-key': SECRET } });
  return r.ok ? r.json() : null;
};
const poll = async (what, fn) => {
  for (let i = 0; i < 150; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(200);
  }
  fail(`${what} did not appear\nserver log:\n${server.log()}\ninventory log:\n${shopLog}`);
};

try {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(pageOrigin);
  await page.click('#buy');
  await page.waitForFunction(() => document.getElementById('out').textContent === 'Green tea');
  await sleep(200); // the error is thrown on the next task
  const sessionId = await page.evaluate(async () => {
    await window.th.flush();
    return window.th.sessionId;
  });
  assert(/^[0-9a-f]{32}$/.test(sessionId), `session id ${sessionId}`);
  assert(pageErrors.some((m) => m.includes('checkout widget crashed')), `the page's error was not thrown: ${pageErrors}`);

  // What the inventory received from the browser.
  const sent = forwarded.at(-1);
  const [, traceId, fetchSpanId] = (sent?.traceparent ?? '').split('-');
  assert(traceId && fetchSpanId, `no traceparent forwarded: ${JSON.stringify(forwarded)}`);
  assert(sent['x-highlight-request'] === `${sessionId}/${traceId}`, `x-highlight-request ${sent['x-highlight-request']}`);

  // One trace: browser fetch span → inventory server span → … → database span.
  const trace = await poll(`trace ${traceId} with the browser and inventory spans`, async () => {
    const t = await api(`/api/v1/traces/${traceId}`);
    const spans = t?.spans ?? [];
    const ok = spans.some((s) => s.span_id === fetchSpanId) && spans.some((s) => JSON.stringify(s.attributes).includes('SELECT name, stock'));
    return ok ? t : null;
  });
  const byId = new Map(trace.spans.map((s) => [s.span_id, s]));
  const fetchSpan = byId.get(fetchSpanId);
  assert(fetchSpan.service_name === 'shop-web', `fetch span service ${fetchSpan.service_name}`);
  assert(fetchSpan.session_id === sessionId, `fetch span session ${fetchSpan.session_id}`);
  const serverSpan = trace.spans.find((s) => s.parent_span_id === fetchSpanId);
  assert(serverSpan?.service_name === 'shop-inventory', `no inventory span under the fetch span: ${JSON.stringify(trace.spans.map((s) => [s.name, s.service_name, s.parent_span_id]))}`);
  assert(serverSpan.session_id === sessionId, `server span session ${serverSpan.session_id}`);
  const dbSpan = trace.spans.find((s) => JSON.stringify(s.attributes).includes('SELECT name, stock'));
  let up = dbSpan;
  while (up && up.span_id !== fetchSpanId) up = byId.get(up.parent_span_id);
  assert(up, 'the database span does not descend from the browser fetch span');

  // The session: the browser's error and console log, besides the trace.
  const session = await poll(`session ${sessionId} with its error and log`, async () => {
    const s = await api(`/api/v1/sessions/${sessionId}`);
    const text = JSON.stringify(s ?? {});
    return text.includes('checkout widget crashed') && text.includes('bought tea') ? s : null;
  });
  assert(session.traces.some((t) => t.trace_id === traceId), 'the fetch trace is not in the session');
  console.log(`ok   browser fetch → inventory → database in trace ${traceId}, session ${sessionId}, error and log in the session`);

  // The recording, read back through the API, reconstructs the page in rrweb's player: the
  // heading at the start, the bought item only at the end, the card number never.
  const recording = await poll(`the replay of session ${sessionId}`, async () => {
    const r = await api(`/api/v1/sessions/${sessionId}/replay`);
    return JSON.stringify(r?.events ?? []).includes('Green tea') ? r : null;
  });
  const recorded = JSON.stringify(recording.events);
  assert(recorded.includes('Tea shop'), 'the full snapshot is not in the recording');
  assert(!recorded.includes('4111'), 'the card number input was recorded unmasked');
  const player = await browser.newPage();
  await player.goto(`${pageOrigin}/player`);
  await player.waitForFunction(() => typeof window.play === 'function');
  const shown = await player.evaluate(async (events) => {
    const r = window.play(events);
    const doc = () => document.querySelector('#root iframe').contentDocument;
    // The player applies a seek in the next frames.
    const at = async (ms) => {
      r.pause(ms);
      await new Promise((done) => setTimeout(done, 300));
      return { h1: doc().querySelector('h1')?.textContent ?? null, out: doc().getElementById('out')?.textContent ?? null };
    };
    const total = r.getMetaData().totalTime;
    // Events at an offset before the seek's are applied: the last one needs a seek past it.
    return { start: await at(0), end: await at(total + 1), total };
  }, recording.events);
  assert(shown.start.h1 === 'Tea shop', `player at 0 ms: ${JSON.stringify(shown)}`);
  assert(shown.start.out === '', `player at 0 ms shows the item already: ${JSON.stringify(shown)}`);
  assert(shown.end.out === 'Green tea', `player at the end: ${JSON.stringify(shown)}`);
  console.log(`ok   replay: ${recording.events.length} events in ${recording.chunks} chunk(s), played back over ${shown.total} ms`);

  // CORS as the browser applies it: the allowed origin may post and read the answer; another
  // origin's request is refused by the browser (the server grants it nothing).
  const probe = (p) =>
    p.evaluate(
      async ({ url, key }) => {
        try {
          const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tracehouse-key': key, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, body: '{}' });
          return `status ${r.status}`;
        } catch (e) {
          return `refused: ${e.name}`;
        }
      },
      { url: server.otlpUrl, key: BROWSER_KEY },
    );
  const allowed = await probe(page);
  assert(allowed === 'status 200', `allowed origin: ${allowed}`);
  const other = await browser.newPage();
  await other.goto(`${otherOrigin}/blank`);
  const refused = await probe(other);
  assert(refused === 'refused: TypeError', `refused origin: ${refused}`);
  console.log(`ok   CORS: ${pageOrigin} may send (${allowed}), ${otherOrigin} may not (${refused})`);
} finally {
  await cleanup();
}
