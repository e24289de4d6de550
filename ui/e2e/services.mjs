// Browser tests of the services pages and the search's chart view, on the calls of
// `serviceCalls` (fixtures.mjs) sent in their own deployment environment: the numbers shown
// are checked against those spans.

/** Count, errors and nearest-rank percentiles of durations (ns) of one service's spans. */
export function expectedRed(spans, service) {
  const own = spans.filter((s) => s.service === service);
  const d = own.map((s) => s.end - s.start).sort((a, b) => a - b);
  const q = (p) => d[Math.ceil(p * d.length) - 1];
  return { count: own.length, errors: own.filter((s) => s.error).length, p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

/** The error groups one service raised in `spans`, most occurrences first: [type, count] pairs. */
export function expectedErrors(spans, service) {
  const counts = new Map();
  for (const s of spans.filter((x) => x.service === service)) {
    for (const e of (s.events ?? []).filter((x) => x.name === 'exception')) counts.set(e.attributes['exception.type'], (counts.get(e.attributes['exception.type']) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/** Registers the services tests; `t` holds the runner's page, helpers and the sent calls. */
export function servicesTests(t) {
  const { test, page, base, shot, axe, waitUrl, url, assert, eq, calls, others, environment } = t;
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
    const p95s = () => page.$$eval('table.red-table td[data-col="p95"]', (cs) => cs.map((c) => Number(c.getAttribute('data-value'))));
    const sorted = (vs) => vs.length > 2 && vs.every((v, i) => i === 0 || v <= vs[i - 1]);
    for (let i = 0; i < 50 && !sorted(await p95s()); i++) await page.waitForTimeout(100);
    assert(sorted(await p95s()), `p95 highest first: ${await p95s()}`);
    await page.selectOption('.env-filter select', environment);
    await waitUrl((u) => u.searchParams.get('environment') === environment, 'filtered by environment');
    await page.waitForFunction(() => document.querySelectorAll('table.red-table tbody tr').length === 2);
    eq(JSON.stringify(await rowOrder()), JSON.stringify(['gateway', 'inventory']), 'services of the environment by p95');
    await page.click('table.red-table th button:has-text("Service")');
    await waitUrl((u) => u.searchParams.get('sort') === 'name', 'sorted by name');
    await page.click('table.red-table tr[data-row="inventory"] a');
    await waitUrl((u) => u.pathname === '/services/inventory' && u.searchParams.get('range') === '6h' && u.searchParams.get('environment') === environment, 'opened the service with the range');
  });

  const total = (name) => page.$eval(`.red-totals [data-total="${name}"] dd`, (d) => d.textContent);
  const neighbour = async (id) =>
    (await page.waitForSelector(`table.neighbours tr[data-neighbour="${id}"]`)).evaluate((r) => ({
      role: r.getAttribute('data-role'),
      count: Number(r.querySelector('[data-col="count"]').textContent.replace(/,/g, '')),
      errors: r.querySelector('[data-col="errors"]').textContent,
      p95: Number(r.querySelector('[data-col="p95"]').getAttribute('data-value')),
    }));

  test('service page: totals, operations and neighbours are those of the spans sent', async () => {
    await page.goto(`${base}/services/gateway?range=6h`);
    await page.waitForSelector('.chart-grid:not(.service-metrics) .chart .uplot canvas');
    eq(await page.$$eval('.chart-grid:not(.service-metrics) .chart .uplot', (c) => c.length), 3, 'rate, errors and latency charts (its OTLP metrics apart)');
    const want = expectedRed(calls, 'gateway');
    eq(await total('Spans'), String(want.count), 'spans in the range');
    eq(await total('Errors'), `${Math.round((100 * want.errors) / want.count)}%`, 'error share');
    const order = 'server GET /order';
    const orders = calls.filter((s) => s.service === 'gateway' && s.name === 'GET /order');
    eq(Number(await page.getAttribute(`table.red-table tr[data-row="${order}"]`, 'data-count')), orders.length, 'GET /order spans');
    eq((await cell(order, 'error_rate')).text, `${Math.round((100 * orders.filter((s) => s.error).length) / orders.length)}%`, 'GET /order errors');
    const callee = await neighbour('inventory');
    eq(callee.role, 'callee', 'gateway calls inventory');
    eq(callee.count, orders.length, 'calls to inventory');
    eq(callee.errors, '0%', 'failed calls to inventory');
    near(callee.p95, 50e6, 'p95 of the calls to inventory');
    await shot('31-service');
    await axe('service page');
    await page.click('table.neighbours tr[data-neighbour="inventory"] a');
    await waitUrl((u) => u.pathname === '/services/inventory' && u.searchParams.get('range') === '6h', 'went to the callee');
    await page.waitForSelector('table.neighbours tr[data-neighbour="database:mysql"]');
    eq((await neighbour('gateway')).role, 'caller', 'inventory is called by gateway');
    eq((await neighbour('database:mysql')).count, orders.length, 'queries to MySQL');
  });

  test('service page: a click on the latency spike opens the slow traces of that step', async () => {
    await page.goto(`${base}/services/gateway?range=6h`);
    const fig = page.locator('.chart-grid:not(.service-metrics) figure.chart', { hasText: 'Latency' });
    await fig.locator('.uplot canvas').waitFor();
    const steps = Number(await fig.getAttribute('data-steps'));
    const over = await fig.locator('.u-over').boundingBox();
    const p95At = fig.locator('.chart-key', { hasText: 'p95' }).locator('[data-value]');
    const xOf = (i) => over.x + (i / (steps - 1)) * over.width;
    let best = { i: -1, v: 0 };
    for (let i = 0; i < steps; i++) {
      await page.mouse.move(xOf(i), over.y + over.height / 2);
      const v = Number((await p95At.getAttribute('data-value')) || 0);
      if (v > best.v) best = { i, v };
    }
    near(best.v, 400e6, 'the highest p95 is that of the failed calls');
    await page.mouse.click(xOf(best.i), over.y + over.height / 2);
    await waitUrl((u) => u.pathname === '/' && u.searchParams.get('sort') === 'duration_desc', 'opened the search');
    const q = url().searchParams.get('query');
    assert(/^service_name:gateway duration>=39\dms$/.test(q), `query of the slow spans: ${q}`);
    const [start, end] = ['start', 'end'].map((k) => Date.parse(url().searchParams.get(k)) * 1e6);
    const slow = calls.filter((s) => s.service === 'gateway' && s.error && s.start >= start && s.start < end);
    assert(slow.length >= 1, `the step ${url().searchParams.get('start')}..${url().searchParams.get('end')} holds a failed call`);
    await page.waitForFunction((n) => document.querySelectorAll('table.results tbody tr').length === n, slow.length);
    const names = await page.$$eval('table.results td.name-cell', (cs) => cs.map((c) => c.textContent));
    assert(names.every((n) => n === 'GET /order'), `only the slow GET /order spans: ${names}`);
  });

  test('service map: nodes coloured by errors, edges labelled with rate and p95, a click opens the service', async () => {
    await page.goto(`${base}/services?range=6h`);
    await page.click('.services-tabs a:has-text("Map")');
    await waitUrl((u) => u.pathname === '/service-map' && u.searchParams.get('range') === '6h', 'opened the map with the range');
    await page.waitForSelector('.map-svg [data-node="gateway"]');
    const lvl = (id) => page.$eval(`.map-svg [data-node="${id}"]`, (n) => [...n.classList].find((c) => c.startsWith('lvl-')));
    eq(await lvl('gateway'), 'lvl-err', 'gateway: 10 % failed');
    eq(await lvl('inventory'), 'lvl-ok', 'inventory: none failed');
    eq(await lvl('database:mysql'), 'lvl-ok', 'MySQL: no failed query');
    const orders = calls.filter((s) => s.service === 'gateway' && s.name === 'GET /order').length;
    for (const [edge, p95] of [
      ['gateway>inventory', 50e6],
      ['inventory>database:mysql', 25e6],
    ]) {
      const e = await page.$eval(`.map-svg [data-edge="${edge}"]`, (g) => ({ count: Number(g.getAttribute('data-count')), p95: Number(g.getAttribute('data-p95')), label: g.querySelector('text').textContent }));
      eq(e.count, orders, `${edge} calls`);
      near(e.p95, p95, `${edge} p95`);
      const ms = new RegExp(`^${((orders / 21600) * 3600).toFixed(2)}/h · p95 (\\d+(\\.\\d+)?)ms$`).exec(e.label);
      assert(ms, `${edge} label of calls per hour over 6h and p95: ${e.label}`);
      near(Number(ms[1]) * 1e6, p95, `${edge} p95 shown`);
    }
    eq(await page.$('.map-svg [data-edge^="gateway>database"]'), null, 'gateway never queries MySQL itself');
    await page.hover('.map-svg [data-node="inventory"]');
    eq(await page.$eval('.map-svg [data-node="cart"]', (n) => n.classList.contains('dim')), true, 'hovering a node dims the unrelated ones');
    eq(await page.$eval('.map-svg [data-node="gateway"]', (n) => n.classList.contains('dim')), false, 'and keeps its neighbours');
    await shot('32-service-map');
    await axe('service map');
    await page.selectOption('.env-filter select', environment);
    await waitUrl((u) => u.pathname === '/service-map' && u.searchParams.get('environment') === environment, 'the map of one environment');
    await page.waitForFunction(() => !document.querySelector('.map-svg [data-node="cart"]'));
    const nodes = await page.$$eval('.map-svg [data-node]', (ns) => ns.map((n) => n.getAttribute('data-node')).sort());
    eq(JSON.stringify(nodes), JSON.stringify(['database:mysql', 'gateway', 'inventory']), 'only the nodes of the environment');
    eq(Number(await page.getAttribute('.map-svg [data-edge="gateway>inventory"]', 'data-count')), orders, 'its calls');
    assert(!/every environment/i.test(await page.textContent('main')), 'no note that the map shows every environment');
    await shot('34-service-map-environment');
    await page.click('.map-svg [data-node="gateway"]');
    await waitUrl((u) => u.pathname === '/services/gateway' && u.searchParams.get('range') === '6h' && u.searchParams.get('environment') === environment, 'opened the service page');
    await page.waitForSelector('.chart .uplot canvas');
  });

  const groupRows = () =>
    page.$$eval('table.error-groups tbody tr', (rs) => rs.map((r) => ({ fp: r.getAttribute('data-fingerprint'), type: r.querySelector('.error-type').textContent, count: Number(r.querySelector('[data-testid=group-count]').textContent) })));

  test('service page: its top error groups count its own occurrences and open their pages; a service named map has its page', async () => {
    await page.goto(`${base}/services/inventory?range=6h`);
    await page.waitForSelector('.service-page p.hint:has-text("inventory recorded no exception")');
    await page.goto(`${base}/services/gateway?range=6h&environment=e2e`);
    await page.waitForSelector('.service-page p.hint:has-text("gateway recorded no exception")');
    await page.goto(`${base}/services/gateway?range=6h&environment=${environment}`);
    await page.waitForSelector('table.error-groups[aria-label="Top errors of gateway"] tbody tr');
    eq(JSON.stringify((await groupRows()).map((r) => [r.type, r.count])), JSON.stringify(expectedErrors(calls, 'gateway')), 'the error groups of gateway in its environment');
    await page.goto(`${base}/services/gateway?range=6h`);
    await page.waitForSelector('table.error-groups[aria-label="Top errors of gateway"] tbody tr');
    const rows = await groupRows();
    eq(JSON.stringify(rows.map((r) => [r.type, r.count])), JSON.stringify(expectedErrors(calls, 'gateway')), 'the error groups of gateway, most occurrences first, of its own occurrences');
    assert(!(await page.$('table.error-groups th:has-text("Services")')), 'no services column on a service page');
    await shot('35-service-errors');
    await axe('service page with its errors');
    await page.click('a:has-text("Every error group of gateway")');
    await waitUrl((u) => u.pathname === '/errors' && u.searchParams.get('service') === 'gateway' && u.searchParams.get('range') === '6h', 'the errors page of gateway');
    await page.waitForFunction((n) => document.querySelectorAll('table.error-groups tbody tr').length === n, rows.length);
    eq(JSON.stringify((await groupRows()).map((r) => [r.type, r.count])), JSON.stringify(expectedErrors(calls, 'gateway')), 'the same groups on the errors page');
    await shot('36-errors-of-service');
    await axe('errors page of one service');
    await page.click('.service-filter button:has-text("Every service and environment")');
    await waitUrl((u) => u.pathname === '/errors' && !u.searchParams.get('service'), 'every service again');
    await page.goBack();
    await page.goBack();
    await waitUrl((u) => u.pathname === '/services/gateway', 'back on the service page');
    await page.waitForSelector('table.error-groups[aria-label="Top errors of gateway"] tbody tr');
    const pool = rows.find((r) => r.type === 'PoolExhausted');
    await page.click(`table.error-groups tr[data-fingerprint="${pool.fp}"] a.error-type`);
    await waitUrl((u) => u.pathname === `/errors/${pool.fp}` && u.searchParams.get('range') === '6h', 'opened the group with the range');
    await page.waitForSelector('pre.group-stack');
    const sent = [...calls, ...others];
    const everywhere = [...new Set(sent.map((s) => s.service))].flatMap((s) => expectedErrors(sent, s)).filter(([type]) => type === 'PoolExhausted');
    eq(await page.textContent('[data-testid=group-count]'), String(everywhere.reduce((n, [, c]) => n + c, 0)), 'the group page counts every service (gateway and map)');
    await page.goto(`${base}/services/map?range=6h`);
    await page.waitForSelector('.red-totals');
    eq(await page.textContent('main h1.page-title'), 'map', 'the service named map');
    eq(await total('Spans'), '1', 'its span');
    await page.waitForSelector('table.error-groups[aria-label="Top errors of map"] tbody tr');
    eq(JSON.stringify((await groupRows()).map((r) => [r.type, r.count])), JSON.stringify(expectedErrors(others, 'map')), 'its own error group');
  });

  test('search chart view: counts split by service add up to the spans sent; a click narrows the search; a structural query is refused', async () => {
    await page.goto(`${base}/?range=6h&query=${encodeURIComponent(`environment:${environment}`)}`);
    await page.waitForSelector('.histogram');
    await page.click('.over-time button:has-text("Chart")');
    await waitUrl((u) => u.searchParams.get('chart') === 'count', 'chart view in the URL');
    await page.fill('.chart-by input', 'service');
    await page.press('.chart-by input', 'Enter');
    await waitUrl((u) => u.searchParams.get('chart_by') === 'service', 'split in the URL');
    const fig = page.locator('.query-chart figure.chart');
    await page.waitForFunction(() => document.querySelectorAll('.query-chart .chart-key').length === 2);
    await fig.locator('.uplot canvas').waitFor();
    const steps = Number(await fig.getAttribute('data-steps'));
    const over = await fig.locator('.u-over').boundingBox();
    const xOf = (i) => over.x + (i / (steps - 1)) * over.width;
    const sums = { gateway: 0, inventory: 0 };
    let busy = -1;
    for (let i = 0; i < steps; i++) {
      await page.mouse.move(xOf(i), over.y + over.height / 2);
      for (const service of Object.keys(sums)) {
        const v = Number(await fig.locator('.chart-key', { hasText: service }).locator('[data-value]').getAttribute('data-value'));
        sums[service] += v;
        if (v > 0) busy = i;
      }
    }
    for (const service of Object.keys(sums)) eq(sums[service], expectedRed(calls, service).count, `${service} spans over the steps`);
    await shot('33-search-chart');
    await axe('search chart view');
    // The step of the chart clicked, read before the click redraws it over the narrowed range.
    const [first, last] = [Number(await fig.getAttribute('data-start')), Number(await fig.getAttribute('data-end'))];
    await page.mouse.click(xOf(busy), over.y + over.height / 2);
    await waitUrl((u) => !u.searchParams.get('range') && u.searchParams.get('start') && u.searchParams.get('chart') === 'count', 'narrowed to the step');
    const width = Date.parse(url().searchParams.get('end')) - Date.parse(url().searchParams.get('start'));
    eq(width, ((last - first) / (steps - 1)) * 1e3, 'one step of the chart');
    await page.goto(`${base}/?range=6h&chart=count&query=${encodeURIComponent('{service:gateway} >> {service:inventory}')}`);
    const refused = await page.waitForSelector('.query-chart .query-error');
    assert(/structur/i.test(await refused.textContent()), `the chart says why: ${await refused.textContent()}`);
  });
}
