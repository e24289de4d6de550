// How long opening a large trace takes in headless Chromium: a benchmark to run by hand, not a
// timed test (figures depend on the machine).
//
//   npm --prefix ui run bench:trace          (after `cargo build -p tracehouse`)
//
// Ingests one trace of SPANS spans (default 5000) into a fresh server, then RUNS times (default
// 5) opens /traces/<id> until the waterfall shows rows, and /traces/<id>?tab=flame until the
// flame graph shows boxes, timing from navigation start to the first frame painted after they
// are in the DOM, and the part of it after the trace's JSON arrived (the server's share depends
// on its build: a debug build answers far slower than a release one). Prints medians.
import { largeTrace, otlp } from './fixtures.mjs';
import { launchBrowser, startServer } from './harness.mjs';

const SPANS = Number(process.env.SPANS ?? 5000);
const RUNS = Number(process.env.RUNS ?? 5);

const server = await startServer();
const browser = await launchBrowser();
try {
  const trace = largeTrace(Date.now() * 1e6 - 600e9, SPANS);
  await server.post(otlp(trace.spans));
  await server.waitTrace(trace.traceId, SPANS);
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  // Warm the browser's cache of the UI bundle: the figure is for opening a trace, not the app.
  await page.goto(`${server.base}/`);
  await page.waitForSelector('nav[aria-label="Main"]');

  // The page notes, itself, when the first waterfall row and flame box are in the DOM and the
  // frame after that (so the figure holds no time of the test driver's polling).
  await page.addInitScript(() => {
    const seen = (window.__opened = {});
    new MutationObserver(() => {
      for (const sel of ['.wf-row', '.flame-node'])
        if (!(sel in seen) && document.querySelector(sel)) {
          seen[sel] = null;
          requestAnimationFrame(() => (seen[sel] = performance.now()));
        }
    }).observe(document, { childList: true, subtree: true });
  });

  /**
   * Milliseconds from navigation start to the frame after `selector` appears, and how much of
   * that came after the trace's JSON had arrived (the UI's own share: parse, tree, layout, paint).
   */
  const open = async (path, selector) => {
    await page.goto('about:blank');
    await page.goto(`${server.base}${path}`, { waitUntil: 'commit' });
    await page.waitForFunction((sel) => typeof window.__opened?.[sel] === 'number', selector, { timeout: 60_000 });
    return page.evaluate((sel) => {
      const now = window.__opened[sel];
      const api = performance.getEntriesByType('resource').find((e) => e.name.includes('/api/v1/traces/'));
      return { total: now, ui: api ? now - api.responseEnd : NaN, asked: api?.requestStart ?? NaN, server: api ? api.responseEnd - api.requestStart : NaN };
    }, selector);
  };
  const median = (xs) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
  const stats = (runs) =>
    `median ${median(runs.map((r) => r.total))} ms from navigation (slowest ${Math.round(Math.max(...runs.map((r) => r.total)))} ms), ` +
    `of which ${median(runs.map((r) => r.ui))} ms after the trace's JSON arrived; ` +
    `the request left at ${median(runs.map((r) => r.asked))} ms and took ${median(runs.map((r) => r.server))} ms`;
  const waterfall = [];
  const flame = [];
  for (let i = 0; i < RUNS; i++) {
    waterfall.push(await open(`/traces/${trace.traceId}`, '.wf-row'));
    flame.push(await open(`/traces/${trace.traceId}?tab=flame`, '.flame-node'));
  }
  const boxes = await page.$$eval('.flame-node', (n) => n.length);
  console.log(`${SPANS}-span trace, ${RUNS} runs, 1440x900 headless Chromium:`);
  console.log(`  waterfall: ${stats(waterfall)}`);
  console.log(`  flame graph: ${stats(flame)} (${boxes} boxes drawn)`);
} finally {
  await browser.close();
  await server.stop();
}
