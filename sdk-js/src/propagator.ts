import { type Context, type TextMapGetter, type TextMapPropagator, type TextMapSetter, trace } from '@opentelemetry/api';

/** The header Highlight's backend SDKs (and `tracehouse-sdk`) read the browser session from. */
export const HIGHLIGHT_HEADER = 'x-highlight-request';

/**
 * Injects `x-highlight-request: <session id>/<trace id>` next to `traceparent`. The fetch and XHR
 * instrumentations only inject into requests to the page's origin and to the configured backend
 * origins, so the header goes exactly where `traceparent` goes.
 */
export class HighlightRequestPropagator implements TextMapPropagator {
  constructor(private readonly sessionId: string) {}

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const span = trace.getSpanContext(context);
    const requestId = span && trace.isSpanContextValid(span) ? span.traceId : '';
    setter.set(carrier, HIGHLIGHT_HEADER, `${this.sessionId}/${requestId}`);
  }

  extract(context: Context, _carrier: unknown, _getter: TextMapGetter): Context {
    return context;
  }

  fields(): string[] {
    return [HIGHLIGHT_HEADER];
  }
}
