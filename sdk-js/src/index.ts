/**
 * `@tracehouse/browser`: browser tracing for tracehouse, composed from the OpenTelemetry JS web
 * SDK. One call, {@link init}, traces page loads, fetch and XHR requests and user interactions,
 * propagates `traceparent` and `x-highlight-request` to the backends it is told about, records
 * uncaught errors and unhandled rejections as exceptions and console messages as logs, all with
 * the tab's session id, and ships them in batches over OTLP/HTTP.
 */

import { SpanStatusCode, context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { type Logger, SeverityNumber } from '@opentelemetry/api-logs';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { UserInteractionInstrumentation } from '@opentelemetry/instrumentation-user-interaction';
import { XMLHttpRequestInstrumentation } from '@opentelemetry/instrumentation-xml-http-request';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, type LogRecordExporter, LoggerProvider } from '@opentelemetry/sdk-logs';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web';

import type { Recorder, RunningRecorder } from './plugin';
import { HighlightRequestPropagator } from './propagator';
import { tabSessionId } from './session';

export { HIGHLIGHT_HEADER } from './propagator';
export { SESSION_STORAGE_KEY } from './session';
export type { Recorder, RecorderContext, RunningRecorder } from './plugin';

/** The resource attribute carrying the session id (tracehouse also reads `highlight.session_id`). */
export const SESSION_ID_ATTRIBUTE = 'session.id';

/** Console methods that can be captured as logs. */
export type ConsoleLevel = 'debug' | 'log' | 'info' | 'warn' | 'error';

const SEVERITY: Record<ConsoleLevel, [SeverityNumber, string]> = {
  debug: [SeverityNumber.DEBUG, 'DEBUG'],
  log: [SeverityNumber.INFO, 'INFO'],
  info: [SeverityNumber.INFO, 'INFO'],
  warn: [SeverityNumber.WARN, 'WARN'],
  error: [SeverityNumber.ERROR, 'ERROR'],
};

/** Options of {@link init}. */
export interface BrowserOptions {
  /** Base URL of tracehouse's OTLP/HTTP receiver, e.g. `https://otlp.example.com:4318`; the SDK
   * posts to `/v1/traces` and `/v1/logs` under it. The page's origin must be allowed there
   * (`tracehouse serve --cors-origin`). */
  endpoint: string;
  /** The project's public browser key (`tracehouse serve --browser-key`): it can only write.
   * Leave it out for a server in open single-project mode. */
  projectKey?: string;
  /** `service.name` of the page's telemetry. */
  serviceName: string;
  /** `service.version`, e.g. the build's commit. */
  serviceVersion?: string;
  /** `deployment.environment.name`, e.g. `production`. */
  environment?: string;
  /** Backend URLs (prefixes as strings, or patterns) whose requests get `traceparent` and
   * `x-highlight-request`, besides the page's own origin. Those backends must allow both
   * headers in their CORS answers. */
  propagateTo?: Array<string | RegExp>;
  /** Fraction of traces kept, 0 to 1 (default 1). Logs are not sampled. */
  sampleRate?: number;
  /** Console methods recorded as logs (default all five); `false` records none. */
  console?: ConsoleLevel[] | false;
  /** Record uncaught errors and unhandled rejections as exceptions (default true). */
  errors?: boolean;
  /** Trace clicks and form submits (default true). */
  userInteractions?: boolean;
  /** Record the session for replay: `replay()` from `@tracehouse/browser/replay` (a separate
   * entry point, so pages without replay do not load rrweb). */
  replay?: Recorder;
  /** Replace the OTLP exporters, e.g. to send elsewhere too. */
  exporters?: { spans: SpanExporter; logs: LogRecordExporter };
}

/** A running SDK. */
export interface Tracehouse {
  /** The tab's session id, as sent with every span, log and propagated request. */
  readonly sessionId: string;
  /** Sends everything buffered now. Never rejects. */
  flush(): Promise<void>;
  /** Stops recording, restores `console` and the instrumented APIs, and sends what is left.
   * Never rejects. */
  shutdown(): Promise<void>;
}

const NOOP: Tracehouse = {
  sessionId: '',
  flush: async () => {},
  shutdown: async () => {},
};

/**
 * Starts browser tracing. Call it once, as early as possible in the page. It never throws: a
 * configuration the SDK cannot run with gives a handle that does nothing (the reason goes to
 * `console.warn`), and an unreachable endpoint only drops telemetry after the exporter's retries.
 */
export function init(options: BrowserOptions): Tracehouse {
  try {
    return start(options);
  } catch (e) {
    console.warn('@tracehouse/browser: not started:', e);
    return NOOP;
  }
}

function start(options: BrowserOptions): Tracehouse {
  const endpoint = options.endpoint.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(endpoint)) {
    throw new Error(`endpoint must be an http(s) URL, not ${JSON.stringify(options.endpoint)}`);
  }
  const rate = options.sampleRate ?? 1;
  if (!(rate >= 0 && rate <= 1)) {
    throw new Error(`sampleRate must be between 0 and 1, not ${rate}`);
  }
  const sessionId = tabSessionId();
  const resource = resourceFromAttributes({
    'service.name': options.serviceName,
    ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
    ...(options.environment ? { 'deployment.environment.name': options.environment } : {}),
    [SESSION_ID_ATTRIBUTE]: sessionId,
    'telemetry.sdk.name': '@tracehouse/browser',
    // The semantic conventions' language of browser JavaScript: how tracehouse tells a
    // browser's requests from its backends' (the sessions list's request count).
    'telemetry.sdk.language': 'webjs',
  });
  const headers: Record<string, string> = options.projectKey
    ? { 'x-tracehouse-key': options.projectKey }
    : {};
  const spanExporter =
    options.exporters?.spans ?? new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, headers });
  const logExporter =
    options.exporters?.logs ?? new OTLPLogExporter({ url: `${endpoint}/v1/logs`, headers });

  const tracerProvider = new WebTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(rate) }),
    spanProcessors: [new BatchSpanProcessor(spanExporter)],
  });
  tracerProvider.register({
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new HighlightRequestPropagator(sessionId)],
    }),
  });
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter: logExporter })],
  });

  const propagateTraceHeaderCorsUrls = (options.propagateTo ?? []).map((u) =>
    typeof u === 'string' ? new RegExp(`^${u.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : u,
  );
  // The exporters' own requests are never traced (they would trace themselves forever).
  const ignoreUrls = [new RegExp(`^${endpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`)];
  const unregister = registerInstrumentations({
    tracerProvider,
    instrumentations: [
      new DocumentLoadInstrumentation(),
      new FetchInstrumentation({ propagateTraceHeaderCorsUrls, ignoreUrls }),
      new XMLHttpRequestInstrumentation({ propagateTraceHeaderCorsUrls, ignoreUrls }),
      ...(options.userInteractions === false ? [] : [new UserInteractionInstrumentation()]),
    ],
  });

  const tracer = tracerProvider.getTracer('@tracehouse/browser');
  const logger = loggerProvider.getLogger('@tracehouse/browser');
  const undo: Array<() => void> = [unregister];
  if (options.errors !== false) undo.push(captureErrors(tracer));
  if (options.console !== false) {
    undo.push(captureConsole(logger, options.console ?? ['debug', 'log', 'info', 'warn', 'error']));
  }

  const recorder = startRecorder(options.replay, { endpoint, headers, sessionId });
  const flush = async () => {
    await Promise.all([
      tracerProvider.forceFlush(),
      loggerProvider.forceFlush(),
      recorder?.flush(),
    ]).catch(() => {});
  };
  return {
    sessionId,
    flush,
    shutdown: async () => {
      undo.splice(0).forEach((f) => f());
      await recorder?.stop();
      await flush();
      await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]).catch(() => {});
      propagation.disable();
      trace.disable();
      context.disable();
    },
  };
}

/** Starts the optional recorder; a recorder that throws leaves the rest of the SDK running. */
function startRecorder(
  recorder: Recorder | undefined,
  context: { endpoint: string; headers: Record<string, string>; sessionId: string },
): RunningRecorder | undefined {
  try {
    return recorder?.start(context);
  } catch (e) {
    console.warn('@tracehouse/browser: replay not started:', e);
    return undefined;
  }
}

/** Records `error` and `unhandledrejection` events as spans with an exception event; returns the
 * function that stops it. */
function captureErrors(tracer: Tracer): () => void {
  const record = (name: string, reason: unknown, fallback: string) => {
    try {
      const span = tracer.startSpan(name);
      const exception =
        reason instanceof Error
          ? reason
          : { name: 'Error', message: reason === undefined ? fallback : describe(reason) };
      span.recordException(exception);
      span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
      span.end();
    } catch {
      // Recording an error must never raise another one in the page.
    }
  };
  const onError = (e: ErrorEvent) => record('uncaught error', e.error, e.message);
  const onRejection = (e: PromiseRejectionEvent) =>
    record('unhandled rejection', e.reason, 'unhandled rejection');
  addEventListener('error', onError);
  addEventListener('unhandledrejection', onRejection);
  return () => {
    removeEventListener('error', onError);
    removeEventListener('unhandledrejection', onRejection);
  };
}

/** Wraps the `levels` console methods to also emit a log record each; returns the function that
 * restores them. */
function captureConsole(logger: Logger, levels: ConsoleLevel[]): () => void {
  const originals = new Map<ConsoleLevel, (...args: unknown[]) => void>();
  let inside = false;
  for (const level of levels) {
    const original = console[level];
    originals.set(level, original);
    console[level] = function (this: Console, ...args: unknown[]) {
      // A console call made while emitting (the SDK's own diagnostics) is not captured again.
      if (!inside) {
        inside = true;
        try {
          const [severityNumber, severityText] = SEVERITY[level];
          logger.emit({
            severityNumber,
            severityText,
            body: args.map(describe).join(' '),
            attributes: { 'log.source': 'console', 'console.method': level },
          });
        } catch {
          // Never let capturing break the page's logging.
        } finally {
          inside = false;
        }
      }
      original.apply(this, args);
    };
  }
  return () => originals.forEach((original, level) => (console[level] = original));
}

/** A console argument or rejection reason as text. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
