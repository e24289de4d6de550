import { context, propagation, trace } from '@opentelemetry/api';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type BrowserOptions, HIGHLIGHT_HEADER, SESSION_STORAGE_KEY, type Tracehouse, init } from '../src/index';
import { tabSessionId } from '../src/session';

let spans: InMemorySpanExporter;
let logs: InMemoryLogRecordExporter;
let sdk: Tracehouse | undefined;

function start(options: Partial<BrowserOptions> = {}): Tracehouse {
  sdk = init({
    endpoint: 'http://127.0.0.1:4318',
    serviceName: 'shop-web',
    exporters: { spans, logs },
    userInteractions: false,
    ...options,
  });
  return sdk;
}

beforeEach(() => {
  sessionStorage.clear();
  spans = new InMemorySpanExporter();
  logs = new InMemoryLogRecordExporter();
});

afterEach(async () => {
  await sdk?.shutdown();
  sdk = undefined;
});

describe('session id', () => {
  it('is kept per tab session and renewed with a new one', () => {
    const first = tabSessionId();
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(tabSessionId()).toBe(first);
    expect(sessionStorage.getItem(SESSION_STORAGE_KEY)).toBe(first);
    sessionStorage.clear();
    expect(tabSessionId()).not.toBe(first);
  });

  it('survives storage that throws', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
    } as unknown as Storage;
    expect(tabSessionId(broken)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is on every span and log record', async () => {
    const { sessionId } = start();
    trace.getTracer('t').startSpan('work').end();
    console.info('hello');
    await sdk!.flush();
    const span = spans.getFinishedSpans().find((s) => s.name === 'work')!;
    expect(span.resource.attributes['session.id']).toBe(sessionId);
    expect(span.resource.attributes['telemetry.sdk.language']).toBe('webjs');
    expect(logs.getFinishedLogRecords()[0].resource.attributes['session.id']).toBe(sessionId);
  });
});

describe('propagation', () => {
  it('injects traceparent and x-highlight-request with the session and trace ids', () => {
    const { sessionId } = start();
    const span = trace.getTracer('t').startSpan('fetch');
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), headers);
    span.end();
    const { traceId, spanId } = span.spanContext();
    expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(headers[HIGHLIGHT_HEADER]).toBe(`${sessionId}/${traceId}`);
  });

  it('adds both headers to fetches to allowed backends only', async () => {
    const seen: Array<[string, Headers]> = [];
    const realFetch = globalThis.fetch;
    // The page's transport: records what the instrumented fetch hands to it.
    globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push([String(input), new Headers(init?.headers)]);
      return new Response('{}', { status: 200 });
    };
    try {
      const { sessionId } = start({ propagateTo: ['https://api.example.com/'] });
      await fetch('https://api.example.com/cart', {});
      await fetch('https://cdn.other.com/x.js', {});
      const [api, cdn] = seen;
      expect(api[1].get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(api[1].get(HIGHLIGHT_HEADER)).toBe(`${sessionId}/${api[1].get('traceparent')!.split('-')[1]}`);
      expect(cdn[1].get('traceparent')).toBeNull();
      expect(cdn[1].get(HIGHLIGHT_HEADER)).toBeNull();
    } finally {
      await sdk?.shutdown();
      sdk = undefined;
      globalThis.fetch = realFetch;
    }
  });
});

describe('errors and console', () => {
  it('records uncaught errors and unhandled rejections as exceptions', async () => {
    start();
    window.dispatchEvent(new ErrorEvent('error', { error: new TypeError('cart is undefined'), message: 'x' }));
    const rejection = new Event('unhandledrejection') as Event & { reason: unknown };
    rejection.reason = 'payment refused';
    window.dispatchEvent(rejection);
    await sdk!.flush();
    const byName = new Map(spans.getFinishedSpans().map((s) => [s.name, s]));
    const uncaught = byName.get('uncaught error')!;
    expect(uncaught.status.code).toBe(2);
    const event = uncaught.events.find((e) => e.name === 'exception')!;
    expect(event.attributes!['exception.type']).toBe('TypeError');
    expect(event.attributes!['exception.message']).toBe('cart is undefined');
    const rejected = byName.get('unhandled rejection')!;
    expect(rejected.events[0].attributes!['exception.message']).toBe('payment refused');
  });

  it('records console messages as logs and restores console on shutdown', async () => {
    const original = console.warn;
    start({ console: ['warn'] });
    expect(console.warn).not.toBe(original);
    console.warn('low stock', { sku: 'A1' });
    console.info('not captured');
    await sdk!.flush();
    const records = logs.getFinishedLogRecords();
    expect(records).toHaveLength(1);
    expect(records[0].body).toBe('low stock {"sku":"A1"}');
    expect(records[0].severityText).toBe('WARN');
    await sdk!.shutdown();
    sdk = undefined;
    expect(console.warn).toBe(original);
  });
});

describe('robustness and sampling', () => {
  it('never throws: a bad configuration gives a handle that does nothing', async () => {
    const handle = init({ endpoint: 'otlp.example.com', serviceName: 'x' });
    expect(handle.sessionId).toBe('');
    await handle.flush();
    expect(init({ endpoint: 'http://x', serviceName: 'x', sampleRate: 2 }).sessionId).toBe('');
  });

  it('an unreachable endpoint only drops telemetry', async () => {
    // Port 9 (discard) has no listener: every export fails to connect.
    sdk = init({ endpoint: 'http://127.0.0.1:9', serviceName: 'down', userInteractions: false });
    trace.getTracer('t').startSpan('lost').end();
    console.error('lost too');
    // The exporter retries with backoff until its 10 s timeout, then gives up quietly.
    await expect(sdk.flush()).resolves.toBeUndefined();
  }, 20_000);

  it('drops unsampled traces', async () => {
    start({ sampleRate: 0 });
    const span = trace.getTracer('t').startSpan('dropped');
    span.end();
    await sdk!.flush();
    expect(span.spanContext().traceFlags & 1).toBe(0);
    expect(spans.getFinishedSpans().filter((s) => s.name === 'dropped')).toHaveLength(0);
  });
});
