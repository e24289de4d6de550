// Browser tests of the services pages, on the calls of `serviceCalls` (fixtures.mjs) sent in
// their own deployment environment: the numbers shown are checked against those spans.

/** Count, errors and nearest-rank percentiles of durations (ns) of one service's spans. */
export function expectedRed(spans, service) {
  const own = spans.filter((s) => s.service === service);
  const d = own.map((s) => s.end - s.start).sort((a, b) => a - b);
  const q = (p) => d[Math.ceil(p * d.length) - 1];
  return { count: own.length, errors: own.filter((s) => s.error).length, p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

/** Registers the services tests; `t` holds the runner's page, helpers and the sent calls. */
export function servicesTests(t) {
  const { test, page, base, shot, axe, waitUrl, assert, eq, calls, environment } = t;
  const near = (actual, expected, what) => assert(Math.abs(actual - expected) <= expected * 0.01, `${what}: ${actual} is not within 1% of ${expected}`);
  const rowOrder = () => page.$$eval('table.red-table tbody tr', (rs) => rs.map((r) => r.getAttribute('data-row')));
  const cell = (row, col) => page.$eval(`table.red-table tr[data-row="${row}"] td[data-col="${col}"]`, (c) => ({ text: c.textContent, value: Number(c.getAttribute('data-value')) }));

  test('services page: the RED numbers of each service are those of the spans sent', async () => {
    await page.goto(`${base}/?range=1h`);
    await page.click('nav[aria-label="Main"] a:has-text("Services")');
    await waitUrl((u) => u.pathname === '/services', 'went to the services page');
    await page.goto(`${base}/services?range=6h`);
    await page.waitForSelector('table.red-table tr[data-row="gateway"]');
    for (const service of ['gateway', 'inventory']) {
      const want = expectedRed(calls, service);
      eq(Number(await page.getAttribute(`tr[data-row="${service}"]`, 'data-count')), want.count, `${service} spans`);
      const errors = await cell(service, 'error_rate');
      eq(errors.value, want.errors / want.count, `${service} error fraction`);
      eq(errors.text, `${Math.round((100 * want.errors) / want.count)}%`, `${service} error percentage shown`);
      for (const p of ['p50', 'p95', 'p99']) near((await cell(service, p)).value, want[p], `${service} ${p}`);
    }
    const p95 = (await cell('gateway', 'p95')).text;
    assert(/^(39[6-9]|40[0-4])ms$/.test(p95), `gateway p95 shown as about 400ms: ${p95}`);
    const sparks = await page.$$eval('tr[data-row="gateway"] svg.sparkline', (s) => s.map((x) => x.getAttribute('aria-label')));
    assert(sparks[0].includes(`: ${expectedRed(calls, 'gateway').count} over`), `the spans sparkline adds up to the spans: ${sparks[0]}`);
    await shot('30-services');
    await axe('services page');
  });

  test('services page: sorted by a column, filtered by environment, linked to each service', async () => {
    await page.goto(`${base}/services?range=6h`);
    await page.waitForSelector('table.red-table tr[data-row="gateway"]');
    await page.click('table.red-table th button:has-text("p95")');
    await waitUrl((u) => u.searchParams.get('sort') === 'p95', 'sorted by p95');
    await page.waitForFunction(() => document.querySelector('table.red-table th[aria-sort="descending"]')?.textContent?.startsWith('p95'));
    const p95s = await page.$$eval('table.red-table td[data-col="p95"]', (cs) => cs.map((c) => Number(c.getAttribute('data-value'))));
    assert(p95s.length > 2 && p95s.every((v, i) => i === 0 || v <= p95s[i - 1]), `p95 highest first: ${p95s}`);
    await page.selectOption('.env-filter select', environment);
    await waitUrl((u) => u.searchParams.get('environment') === environment, 'filtered by environment');
    await page.waitForFunction(() => document.querySelectorAll('table.red-table tbody tr').length === 2);
    eq(JSON.stringify(await rowOrder()), JSON.stringify(['gateway', 'inventory']), 'services of the environment by p95');
    await page.click('table.red-table th button:has-text("Service")');
    await waitUrl((u) => u.searchParams.get('sort') === 'name', 'sorted by name');
    await page.click('table.red-table tr[data-row="inventory"] a');
    await waitUrl((u) => u.pathname === '/services/inventory' && u.searchParams.get('range') === '6h' && u.searchParams.get('environment') === environment, 'opened the service with the range');
  });
}
