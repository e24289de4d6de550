// Generated OTLP/JSON traces for the browser tests: nested spans over several services,
// errors with exception events, plain events, a cross-trace link, and one large trace.
import { randomBytes } from 'node:crypto';

export const hex = (n) => randomBytes(n).toString('hex');
const str = (v) => ({ stringValue: String(v) });
const attrs = (o) =>
  Object.entries(o).map(([key, v]) => ({
    key,
    value: typeof v === 'number' ? (Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }) : typeof v === 'boolean' ? { boolValue: v } : str(v),
  }));

/** Builds one OTLP request body from a flat list of span descriptions, all of one deployment environment. */
export function otlp(spans, environment = 'e2e') {
  const byService = new Map();
  for (const s of spans) {
    if (!byService.has(s.service)) byService.set(s.service, []);
    byService.get(s.service).push(s);
  }
  return {
    resourceSpans: [...byService.entries()].map(([service, list]) => ({
      resource: { attributes: attrs({ 'service.name': service, 'deployment.environment': environment, 'host.name': `${service}-host-1`, ...list[0].resource }) },
      scopeSpans: [
        {
          scope: { name: 'e2e-generator', version: '1.0.0' },
          spans: list.map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind ?? 1,
            startTimeUnixNano: String(s.start),
            endTimeUnixNano: String(s.end),
            attributes: attrs(s.attributes ?? {}),
            events: (s.events ?? []).map((e) => ({ timeUnixNano: String(e.time), name: e.name, attributes: attrs(e.attributes ?? {}) })),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes ?? {}) })),
            status: s.error ? { code: 2, message: s.error } : { code: 0 },
          })),
        },
      ],
    })),
  };
}

const MS = 1_000_000;

/**
 * The checkout trace: 12 spans, depth up to 3, services frontend/checkout/payments/db.
 * Returns { traceId, spans, ids } where ids maps a short name to its span id.
 */
export function checkoutTrace(t0, linkTo) {
  const traceId = hex(16);
  const ids = {};
  const spans = [];
  const add = (key, parent, service, name, startMs, durMs, extra = {}) => {
    ids[key] = hex(8);
    spans.push({ traceId, spanId: ids[key], parentSpanId: parent ? ids[parent] : undefined, service, name, start: t0 + startMs * MS, end: t0 + (startMs + durMs) * MS, ...extra });
  };
  add('root', null, 'frontend', 'POST /checkout', 0, 420, { kind: 2, attributes: { 'http.method': 'POST', 'http.route': '/checkout', 'http.status_code': 500 }, error: 'checkout failed' });
  add('auth', 'root', 'frontend', 'authenticate', 5, 20, { attributes: { 'user.id': 'u-42' } });
  add('cart', 'root', 'checkout', 'GET /cart', 30, 60, { kind: 3, attributes: { 'http.method': 'GET', 'cart.items': 3 } });
  add('cartdb', 'cart', 'db', 'SELECT cart_items', 35, 40, { kind: 3, attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM cart_items WHERE user_id = $1' } });
  add('price', 'root', 'checkout', 'compute price', 95, 50, { attributes: { 'price.currency': 'EUR' }, events: [{ time: t0 + 100 * MS, name: 'cache miss', attributes: { 'cache.key': 'price:u-42' } }] });
  add('tax', 'price', 'checkout', 'compute tax', 100, 30, {});
  add('pay', 'root', 'payments', 'POST /charge', 150, 250, {
    kind: 2,
    attributes: { 'http.method': 'POST', 'payment.provider': 'acme' },
    error: 'card declined',
    events: [{ time: t0 + 390 * MS, name: 'exception', attributes: { 'exception.type': 'CardDeclined', 'exception.message': 'card 4242 declined', 'exception.stacktrace': 'CardDeclined: card 4242 declined\n    at charge (payments/charge.py:42)\n    at handle (payments/server.py:17)' } }],
    links: linkTo ? [{ traceId: linkTo.traceId, spanId: linkTo.spanId, attributes: { 'link.kind': 'retry-of' } }] : [],
  });
  add('fraud', 'pay', 'payments', 'fraud check', 160, 80, { attributes: { 'fraud.score': 0.12 } });
  add('paydb', 'pay', 'db', 'INSERT payments', 250, 30, { kind: 3, attributes: { 'db.system': 'postgresql' } });
  add('ledger', 'paydb', 'db', 'ledger append', 255, 20, { attributes: { 'db.system': 'postgresql' } });
  add('notify', 'root', 'checkout', 'publish order event', 400, 15, { kind: 4, attributes: { 'messaging.system': 'kafka' } });
  add('render', 'root', 'frontend', 'render error page', 405, 10, {});
  return { traceId, spans, ids };
}

/** A small earlier trace, the target of the checkout trace's link. */
export function retryTrace(t0) {
  const traceId = hex(16);
  const root = hex(8);
  const child = hex(8);
  return {
    traceId,
    rootId: root,
    spans: [
      { traceId, spanId: root, service: 'frontend', name: 'POST /checkout (first attempt)', kind: 2, start: t0, end: t0 + 80 * MS, attributes: { 'http.method': 'POST' } },
      { traceId, spanId: child, parentSpanId: root, service: 'payments', name: 'POST /charge', kind: 2, start: t0 + 10 * MS, end: t0 + 70 * MS, error: 'timeout' },
    ],
  };
}

/** A wide and deep trace with `n` spans (for the virtualisation check). */
export function largeTrace(t0, n) {
  const traceId = hex(16);
  const spans = [];
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = hex(8);
    ids.push(id);
    const parent = i === 0 ? undefined : ids[Math.floor((i - 1) / 4)];
    const start = t0 + i * 50_000;
    spans.push({ traceId, spanId: id, parentSpanId: parent, service: `svc-${i % 7}`, name: `op-${i}`, start, end: start + 1_000_000 + (n - i) * 10_000, error: i % 500 === 7 ? 'boom' : undefined });
  }
  return { traceId, spans };
}

/**
 * A browser request of a session: `GET /cart` (web) → `load cart` (cart, throws the same
 * E2eInventoryError every time) → `SELECT stock` (db). Every span carries the session id as
 * `highlight.session_id`, as backend SDKs copy it from the `x-highlight-request` header.
 * `errorType` names the exception (another one makes another error group).
 */
export function sessionTrace(t0, sessionId, errorType = 'E2eInventoryError') {
  const traceId = hex(16);
  const ids = { root: hex(8), load: hex(8), db: hex(8) };
  const session = { 'highlight.session_id': sessionId };
  const spans = [
    { traceId, spanId: ids.root, service: 'web', name: 'GET /cart', kind: 2, start: t0, end: t0 + 300 * MS, attributes: { ...session, 'http.method': 'GET' }, error: 'internal error' },
    {
      traceId,
      spanId: ids.load,
      parentSpanId: ids.root,
      service: 'cart',
      name: 'load cart',
      start: t0 + 20 * MS,
      end: t0 + 250 * MS,
      attributes: { ...session, 'cart.sku': 'sku-1' },
      error: 'out of stock',
      events: [
        {
          time: t0 + 240 * MS,
          name: 'exception',
          attributes: {
            'exception.type': errorType,
            'exception.message': 'item sku-1 is out of stock',
            'exception.stacktrace': `${errorType}: item sku-1 is out of stock\n    at reserve (cart/inventory.py:88)\n    at load (cart/handlers.py:31)`,
          },
        },
      ],
    },
    { traceId, spanId: ids.db, parentSpanId: ids.load, service: 'db', name: 'SELECT stock', kind: 3, start: t0 + 30 * MS, end: t0 + 200 * MS, attributes: { ...session, 'db.system': 'postgresql' } },
  ];
  // The logs emitted inside this request, tied to its spans and session.
  const logs = [
    { time: t0 + 25 * MS, service: 'cart', level: 'INFO', number: 9, body: `loading cart for session ${sessionId}`, traceId, spanId: ids.load, attributes: { ...session, 'cart.sku': 'sku-1' } },
    { time: t0 + 210 * MS, service: 'db', level: 'WARN', number: 13, body: 'slow stock query took 170ms', traceId, spanId: ids.db, attributes: { ...session, 'db.rows': 1 } },
    { time: t0 + 245 * MS, service: 'cart', level: 'ERROR', number: 17, body: 'inventory lookup failed for sku-1', traceId, spanId: ids.load, attributes: { ...session, 'cart.sku': 'sku-1', 'retry.count': 2 } },
  ];
  return { traceId, ids, spans, logs };
}

/**
 * A browser session as the browser SDK sends it (service `shop-web` on OpenTelemetry's web SDK):
 * the shop's home page loaded in Chrome, a fetch to the cart, then the checkout page loaded.
 * A span's `resource` attributes join its service's resource.
 */
export function browserPages(t0, sessionId) {
  const web = { 'session.id': sessionId };
  const resource = { 'telemetry.sdk.language': 'webjs', 'session.id': sessionId };
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
  const page = (start, url) => ({ traceId: hex(16), spanId: hex(8), service: 'shop-web', resource, name: 'documentLoad', start, end: start + 400 * MS, attributes: { ...web, 'url.full': url, 'user_agent.original': ua } });
  const fetch = { traceId: hex(16), spanId: hex(8), service: 'shop-web', resource, name: 'HTTP POST', kind: 3, start: t0 + 2000 * MS, end: t0 + 2100 * MS, attributes: { ...web, 'http.request.method': 'POST', 'url.full': 'http://shop.test/api/cart' } };
  return [page(t0, 'http://shop.test/'), fetch, page(t0 + 5000 * MS, 'http://shop.test/checkout')];
}

/** `n` unrelated debug log lines from `svc`, spread evenly over `[t0, t1)` (no trace, no session). */
export function noiseLogs(t0, t1, n, svc = 'worker') {
  return Array.from({ length: n }, (_, i) => ({ time: Math.round(t0 + ((t1 - t0) * i) / n), service: svc, level: 'DEBUG', number: 5, body: `tick ${i} processed`, attributes: { 'tick.n': i } }));
}

/** Builds one OTLP logs request body (JSON) from a flat list of log descriptions. */
export function otlpLogs(logs) {
  const byService = new Map();
  for (const l of logs) {
    if (!byService.has(l.service)) byService.set(l.service, []);
    byService.get(l.service).push(l);
  }
  return {
    resourceLogs: [...byService.entries()].map(([service, list]) => ({
      resource: { attributes: attrs({ 'service.name': service, 'deployment.environment': 'e2e', 'host.name': `${service}-host-1` }) },
      scopeLogs: [
        {
          scope: { name: 'e2e-logger', version: '1.0.0' },
          logRecords: list.map((l) => ({
            timeUnixNano: String(l.time),
            observedTimeUnixNano: String(l.time),
            severityNumber: l.number,
            severityText: l.level,
            body: str(l.body),
            attributes: attrs(l.attributes ?? {}),
            ...(l.traceId ? { traceId: l.traceId, spanId: l.spanId } : {}),
          })),
        },
      ],
    })),
  };
}

/**
 * A trace as Zipkin's shared spans send it: the web client span and the api server span of
 * one call carry the same span id (and parent), the server's child names that id as its
 * parent (the server half timed late by its host's clock: the view moves it, and its child,
 * into the client half); plus a span whose parent never arrived. The root carries a JSON request
 * body.
 */
export function sharedIdTrace(t0) {
  const traceId = hex(16);
  const ids = { root: hex(8), shared: hex(8), query: hex(8), lost: hex(8), orphan: hex(8) };
  const spans = [
    {
      traceId, spanId: ids.root, service: 'web', name: 'GET /items', kind: 2, start: t0, end: t0 + 200 * MS,
      attributes: { 'http.request.body': '{"items":[{"sku":"sku-1","qty":2}],"coupon":null}', 'db.statement': 'SELECT i.id, i.name, i.price FROM items i JOIN stock s ON s.item_id = i.id WHERE s.count > 0 ORDER BY i.name' },
    },
    { traceId, spanId: ids.shared, parentSpanId: ids.root, service: 'web', name: 'api/list', kind: 3, start: t0 + 10 * MS, end: t0 + 150 * MS },
    // The server half ends 1 ms after its client, timed by the api host's clock (1 ms
    // shorter, so that float rounding of these times never makes it the longer one).
    { traceId, spanId: ids.shared, parentSpanId: ids.root, service: 'api', name: 'api/list', kind: 2, start: t0 + 12 * MS, end: t0 + 151 * MS },
    { traceId, spanId: ids.query, parentSpanId: ids.shared, service: 'api', name: 'SELECT items', kind: 3, start: t0 + 20 * MS, end: t0 + 140 * MS, attributes: { 'db.system': 'postgresql' } },
    { traceId, spanId: ids.orphan, parentSpanId: ids.lost, service: 'worker', name: 'reindex items', start: t0 + 160 * MS, end: t0 + 190 * MS, error: 'reindex failed' },
  ];
  return { traceId, ids, spans };
}

/**
 * One server span of `my.service` whose parent never arrives (the shape of the OTLP
 * specification's example request), at `t0`.
 */
export function orphanSpanTrace(t0) {
  const traceId = '5b8efff798038103d269b633813fc60c';
  const ids = { span: 'eee19b7ec3c1b174', missingParent: 'eee19b7ec3c1b173' };
  const spans = [{ traceId, spanId: ids.span, parentSpanId: ids.missingParent, service: 'my.service', name: "I'm a server span", kind: 2, start: t0, end: t0 + 1000 * MS, attributes: { 'my.span.attr': 'some value' } }];
  return { traceId, ids, spans };
}

/**
 * Two checkouts to compare: `normal`, and `slow`, which retries the charge (an extra
 * subtree) and whose SELECT takes 30 ms longer; every other span keeps its own time.
 * Services are `cmp-*`, so a query finds just these two.
 */
export function comparePair(t0) {
  // Exact nanoseconds (a float this large rounds them, which skews children by a few hundred ns).
  const base = BigInt(Math.round(t0 / MS)) * BigInt(MS);
  const at = (ms) => base + BigInt(ms * MS);
  const build = (rows) => {
    const traceId = hex(16);
    const ids = {};
    const spans = rows.map(([key, parent, service, name, start, end]) => {
      ids[key] = hex(8);
      return { traceId, spanId: ids[key], parentSpanId: parent ? ids[parent] : undefined, service, name, start: at(start), end: at(end) };
    });
    return { traceId, ids, spans };
  };
  const normal = build([
    ['root', null, 'cmp-web', 'GET /checkout', 0, 100],
    ['charge', 'root', 'cmp-api', 'charge', 10, 40],
    ['insert', 'charge', 'cmp-db', 'INSERT', 15, 35],
    ['cart', 'root', 'cmp-api', 'load cart', 50, 90],
    ['select', 'cart', 'cmp-db', 'SELECT', 55, 85],
  ]);
  const slow = build([
    ['root', null, 'cmp-web', 'GET /checkout', 0, 150],
    ['charge', 'root', 'cmp-api', 'charge', 10, 40],
    ['insert', 'charge', 'cmp-db', 'INSERT', 15, 35],
    ['retry', 'root', 'cmp-api', 'charge', 40, 60],
    ['retryInsert', 'retry', 'cmp-db', 'INSERT', 45, 55],
    ['cart', 'root', 'cmp-api', 'load cart', 70, 140],
    ['select', 'cart', 'cmp-db', 'SELECT', 75, 135],
  ]);
  return { normal, slow };
}

/**
 * A browser's recording of a small shop page as `POST /v1/replay` bodies (two chunks): rrweb's
 * meta and full snapshot at `t0Ms` (a "Tea shop" heading), and at `t0Ms + 3000` a mutation that
 * adds `<p id="out">Green tea</p>`.
 */
export function replayChunks(t0Ms, sessionId) {
  const el = (id, tagName, childNodes = [], attributes = {}) => ({ type: 2, tagName, attributes, childNodes, id });
  const text = (id, textContent) => ({ type: 3, textContent, id });
  const page = {
    type: 0,
    id: 1,
    childNodes: [
      { type: 1, name: 'html', publicId: '', systemId: '', id: 2 },
      el(3, 'html', [el(4, 'head', [el(10, 'style', [text(11, 'body { font: 16px sans-serif; margin: 24px; } h1 { color: #4338ca; }')])]), el(5, 'body', [el(6, 'h1', [text(7, 'Tea shop')]), el(12, 'button', [text(13, 'Buy tea')])])]),
    ],
  };
  const added = el(8, 'p', [], { id: 'out' });
  return [
    {
      session_id: sessionId,
      sequence: 0,
      events: [
        { type: 4, timestamp: t0Ms, data: { href: 'http://shop.example/', width: 800, height: 500 } },
        { type: 2, timestamp: t0Ms + 5, data: { node: page, initialOffset: { left: 0, top: 0 } } },
      ],
    },
    {
      session_id: sessionId,
      sequence: 1,
      events: [
        {
          type: 3,
          timestamp: t0Ms + 3000,
          data: { source: 0, texts: [], attributes: [], removes: [], adds: [{ parentId: 5, nextId: null, node: added }, { parentId: 8, nextId: null, node: text(9, 'Green tea') }] },
        },
      ],
    },
  ];
}

/**
 * Calls between two services, one a minute from `t0` for the services pages and the map:
 * `gateway` serves `GET /order` (50 ms; every fifth call fails after 400 ms) and calls
 * `inventory` (`GET /stock` client span, 50 ms), whose server span (25 ms) queries MySQL
 * (`SELECT stock`, a client span with `db.system`, 25 ms). Every call is its own trace.
 * Each failed `GET /order` throws: `UpstreamTimeout`, the last one `PoolExhausted`.
 */
export function serviceCalls(t0, n) {
  const spans = [];
  for (let i = 0; i < n; i++) {
    const traceId = hex(16);
    const [root, call, serve, query] = [hex(8), hex(8), hex(8), hex(8)];
    const t = t0 + i * 60_000 * MS;
    const failed = i % 5 === 4;
    const events = failed ? thrown(i + 5 >= n ? 'PoolExhausted' : 'UpstreamTimeout', t + 399 * MS) : undefined;
    spans.push(
      { traceId, spanId: root, service: 'gateway', name: 'GET /order', kind: 2, start: t, end: t + (failed ? 400 : 50) * MS, error: failed ? 'upstream failed' : undefined, events },
      { traceId, spanId: call, parentSpanId: root, service: 'gateway', name: 'GET /stock', kind: 3, start: t + 1 * MS, end: t + 51 * MS },
      { traceId, spanId: serve, parentSpanId: call, service: 'inventory', name: 'GET /stock', kind: 2, start: t + 2 * MS, end: t + 27 * MS },
      { traceId, spanId: query, parentSpanId: serve, service: 'inventory', name: 'SELECT stock', kind: 3, start: t + 2 * MS, end: t + 27 * MS, attributes: { 'db.system': 'mysql' } },
    );
  }
  return spans;
}

/** An `exception` event of `type` (its message and stack follow from it) at `time`. */
export function thrown(type, time) {
  const message = `${type} in e2e calls`;
  return [{ time, name: 'exception', attributes: { 'exception.type': type, 'exception.message': message, 'exception.stacktrace': `${type}: ${message}\n    at call (e2e/calls.py:1)` } }];
}

/** A failed span of a service named `map` (the services map's old path) throwing `PoolExhausted`, as gateway's last failed call does. */
export function mapServiceSpan(t0) {
  return { traceId: hex(16), spanId: hex(8), service: 'map', name: 'GET /tiles', kind: 2, start: t0, end: t0 + 5 * MS, error: 'pool exhausted', events: thrown('PoolExhausted', t0 + MS) };
}

/** One OTLP/JSON metrics request: `metrics` ({ service, metric }) grouped by their service's resource. */
function otlpMetrics(metrics) {
  const services = [...new Set(metrics.map((m) => m.service))];
  return {
    resourceMetrics: services.map((service) => ({
      resource: { attributes: attrs({ 'service.name': service, 'host.name': `${service}-host-1` }) },
      scopeMetrics: [{ scope: { name: 'e2e-meter' }, metrics: metrics.filter((m) => m.service === service).map((m) => m.metric) }],
    })),
  };
}

/** Bucket counts of every `e2e.latency` point over bounds 10, 50, 100, 250, 500 ms: its p95 lies in (250, 500]. */
export const LATENCY_BOUNDS = [10, 50, 100, 250, 500];
export const LATENCY_COUNTS = [10, 40, 30, 10, 8, 2];

/**
 * OTLP metrics of 11 minutes from `t0` (a minute boundary), one point in the middle of each
 * minute: gateway's cumulative counter `e2e.requests` counting 60 a minute on route /a and 30
 * on /b (rates 1/s and 0.5/s, counted from `t0`); gateway's delta histogram `e2e.latency`
 * (100 observations a minute in `LATENCY_COUNTS`) whose last point carries `exemplar` (a
 * trace and span id, value 420 ms); and billing's gauge `e2e.queue.depth`.
 */
export function metricsRequest(t0, exemplar) {
  const minutes = Array.from({ length: 11 }, (_, k) => k);
  const at = (k) => String(t0 + k * 60e9 + 30e9);
  const requests = ['/a', '/b'].flatMap((route, r) =>
    minutes.map((k) => ({ attributes: attrs({ route }), startTimeUnixNano: String(t0), timeUnixNano: at(k), asDouble: (r === 0 ? 60 : 30) * (k + 1) })),
  );
  const latency = minutes.map((k) => ({
    attributes: attrs({ route: '/a' }),
    startTimeUnixNano: String(t0 + k * 60e9),
    timeUnixNano: at(k),
    count: '100',
    sum: 100 * 120,
    bucketCounts: LATENCY_COUNTS.map(String),
    explicitBounds: LATENCY_BOUNDS,
    exemplars: k === 10 ? [{ timeUnixNano: at(k), asDouble: 420, traceId: exemplar.traceId, spanId: exemplar.spanId }] : [],
  }));
  const depth = minutes.map((k) => ({ timeUnixNano: at(k), asDouble: k }));
  return otlpMetrics([
    { service: 'gateway', metric: { name: 'e2e.requests', unit: '{request}', description: 'Requests served by the gateway', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: requests } } },
    { service: 'gateway', metric: { name: 'e2e.latency', unit: 'ms', description: 'Time to answer a request', histogram: { aggregationTemporality: 1, dataPoints: latency } } },
    { service: 'billing', metric: { name: 'e2e.queue.depth', unit: '{job}', description: 'Jobs waiting', gauge: { dataPoints: depth } } },
  ]);
}
