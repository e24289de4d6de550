// Browser tests of the Metrics explorer and a service's own metrics, on the OTLP metrics of
// `metricsRequest` (fixtures.mjs): the numbers drawn are checked against the points sent.
import { LATENCY_BOUNDS } from './fixtures.mjs';

/** Registers the metrics tests; `t` holds the runner's page and helpers, `t0` the minute the metrics start and `exemplar` the trace of the latency exemplar. */
export function metricsTests(t) {
  const { test, page, base, shot, axe, waitUrl, url, assert, eq, t0, exemplar } = t;
  const iso = (ns) => new Date(ns / 1e6).toISOString();
  const window = `start=${iso(t0)}&end=${iso(t0 + 11 * 60e9)}&step=1m`;
  const totals = () => page.$$eval('table.series-table tbody tr', (rs) => rs.map((r) => [r.getAttribute('data-series'), Number(r.querySelector('[data-total]').getAttribute('data-total'))]));
  const waitTotals = async (want, what) => {
    for (let i = 0; i < 50 && JSON.stringify(await totals()) !== JSON.stringify(want); i++) await page.waitForTimeout(100);
    eq(JSON.stringify(await totals()), JSON.stringify(want), what);
  };
  const lastDrawn = () => page.$$eval('.metrics-page .chart .chart-key [data-value]', (vs) => vs.map((v) => Number(v.getAttribute('data-value'))));
  const options = (sel) => page.$$eval(`${sel} option`, (os) => os.map((o) => o.value));

  test('metrics explorer: a metric picked by autocomplete; the counter rate drawn is the one sent, split by route', async () => {
    await page.goto(`${base}/?range=1h`);
    await page.click('nav[aria-label="Main"] a:has-text("Metrics")');
    await waitUrl((u) => u.pathname === '/metrics-explorer', 'went to the metrics explorer');
    await page.goto(`${base}/metrics-explorer?${window}`);
    await page.waitForSelector('.metric-catalogue a:has-text("e2e.requests")');
    await page.click('#metric-name');
    await page.type('#metric-name', 'e2e.req');
    const option = page.locator('#metric-options li', { hasText: 'e2e.requests' });
    await option.waitFor();
    const text = await option.textContent();
    assert(text.includes('sum · {request}') && text.includes('Requests served by the gateway'), `the option says type, unit and description: ${text}`);
    eq(await page.locator('#metric-options li').count(), 1, 'options matching "e2e.req"');
    await page.keyboard.press('Enter');
    await waitUrl((u) => u.searchParams.get('metric') === 'e2e.requests', 'picked the metric');
    await page.waitForSelector('.metrics-page .uplot canvas');
    eq(JSON.stringify(await options('.metric-controls label:has-text("Function") select')), JSON.stringify(['avg', 'sum', 'min', 'max', 'count', 'rate', 'increase']), 'the functions of a counter');
    await waitTotals([['all', 1.5]], 'rate of both routes over the window, per second');
    eq(JSON.stringify(await lastDrawn()), JSON.stringify([1.5]), 'the last step drawn: 60 + 30 a minute');
    const axis = await page.$eval('.metrics-page .chart .chart-key .mono', (e) => e.textContent);
    eq(axis, '1.5 request/s', 'the value reads in the unit, per second');
    await page.selectOption('select[aria-label="Add a label to group by"]', 'route');
    await waitUrl((u) => u.searchParams.get('by') === 'route', 'grouped by route');
    await waitTotals([['/a', 1], ['/b', 0.5]], 'rate per route');
    await page.waitForFunction(() => document.querySelectorAll('.metrics-page .chart .chart-key').length === 2);
    eq(JSON.stringify(await lastDrawn()), JSON.stringify([1, 0.5]), 'a line per route, its last step');
    await shot('40-metrics-counter');
    await axe('metrics explorer');
  });

  test('metrics explorer: the label filter suggests keys and values, and narrows the series', async () => {
    await page.goto(`${base}/metrics-explorer?metric=e2e.requests&by=route&${window}`);
    await waitTotals([['/a', 1], ['/b', 0.5]], 'both routes before the filter');
    await page.click('#query');
    await page.type('#query', 'ro');
    await page.waitForSelector('#query-suggestions li:has-text("route")');
    const keys = await page.$$eval('#query-suggestions li .sugg-value', (ls) => ls.map((l) => l.textContent));
    assert(keys.includes('route') && !keys.includes('resource.host.name'), `keys starting with "ro": ${keys}`);
    await page.keyboard.press('Tab');
    await page.waitForFunction(() => document.querySelector('#query').value === 'route:');
    await page.waitForSelector('#query-suggestions li:has-text("/b")');
    const values = await page.$$eval('#query-suggestions li .sugg-value', (ls) => ls.map((l) => l.textContent));
    eq(JSON.stringify(values), JSON.stringify(['/a', '/b']), 'values of route');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await waitUrl((u) => u.searchParams.get('filter') === 'route:/b', 'filtered to /b');
    await waitTotals([['/b', 0.5]], 'only /b is left');
    await page.fill('#query', 'route:(');
    await page.keyboard.press('Escape');
    await page.click('.querybar button.primary');
    await page.waitForSelector('#query-error');
    await page.goto(`${base}/metrics-explorer?metric=e2e.nothing&${window}`);
    await page.waitForSelector('.empty-state h2:has-text("No metric e2e.nothing")');
    await page.goto(`${base}/metrics-explorer?metric=e2e.queue.depth&fn=rate&${window}`);
    await page.waitForSelector('.metric-about [role="status"]:has-text("rate does not apply to a gauge metric: showing avg")');
    await waitTotals([['all', 10]], "a gauge over the window: its last value (0 to 10, one a minute)");
  });

  test('metrics explorer: a histogram p95 drawn inside its bucket; an exemplar dot opens its trace at its span', async () => {
    await page.goto(`${base}/metrics-explorer?metric=e2e.latency&${window}`);
    await page.waitForSelector('.metrics-page .uplot canvas');
    const fns = await options('.metric-controls label:has-text("Function") select');
    assert(fns.includes('p95') && !fns.includes('min') && !fns.includes('max'), `the functions of a histogram: ${fns}`);
    await page.waitForSelector('table.series-table tbody tr');
    const [[, p95]] = await totals();
    const [lo, hi] = [LATENCY_BOUNDS[3], LATENCY_BOUNDS[4]];
    assert(p95 > lo && p95 <= hi, `p95 ${p95} lies in its bucket (${lo}, ${hi}]`);
    eq(JSON.stringify(await lastDrawn()), JSON.stringify([p95]), 'every minute has the same buckets: its p95 is the window\'s');
    const shown = await page.$eval('.metrics-page .chart .chart-key .mono', (e) => e.textContent);
    assert(/^\d+(\.\d+)?ms$/.test(shown), `a duration in ms: ${shown}`);
    await page.waitForSelector('.metrics-page .chart-plot[data-marks]');
    const marks = (await page.getAttribute('.metrics-page .chart-plot', 'data-marks')).split(' ');
    eq(marks.length, 1, 'one exemplar dot');
    const [x, y] = marks[0].split(',').map(Number);
    const over = await (await page.$('.metrics-page .u-over')).boundingBox();
    await shot('41-metrics-histogram');
    // The last step's dot sits on the plot's right edge: click just inside it (within the dot's reach).
    await page.mouse.click(over.x + Math.min(x, over.width - 3), over.y + y);
    await waitUrl((u) => u.pathname === `/traces/${exemplar.traceId}` && u.searchParams.get('span') === exemplar.spanId, 'opened the exemplar trace at its span');
    await page.waitForSelector('.wf-row.selected');
  });

  test('service page: its own OTLP metrics beside its span metrics, linked into the explorer', async () => {
    await page.goto(`${base}/services/gateway?range=6h`);
    await page.waitForSelector('.service-metrics .metric-card[data-metric="e2e.latency"] .uplot canvas');
    await page.waitForSelector('.service-metrics .metric-card[data-metric="e2e.requests"] .uplot canvas');
    const cards = await page.$$eval('.service-metrics .metric-card', (cs) => cs.map((c) => c.getAttribute('data-metric')));
    eq(JSON.stringify(cards), JSON.stringify(['e2e.latency', 'e2e.requests']), "gateway's metrics, not billing's");
    await page.click('a:has-text("Explore e2e.requests")');
    await waitUrl((u) => u.pathname === '/metrics-explorer' && u.searchParams.get('metric') === 'e2e.requests' && u.searchParams.get('filter') === 'service:gateway' && u.searchParams.get('fn') === 'rate', 'opened the explorer filtered to the service');
    await page.waitForSelector('table.series-table tbody tr');
    eq(await page.$eval('.querybar #query', (i) => i.value), 'service:gateway', 'the filter filled in');
    await page.goto(`${base}/services/billing?range=6h`);
    await page.waitForSelector('.service-metrics .metric-card[data-metric="e2e.queue.depth"]');
    await axe('service page with its metrics');
  });
}
