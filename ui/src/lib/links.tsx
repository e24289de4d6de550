import type { ComponentChildren, CSSProperties } from 'preact';
import { linkClick } from './router';
import { serviceColor } from './format';
import { withParams } from '../search/timerange';

interface LinkProps {
  href: string;
  children: ComponentChildren;
  class?: string;
  title?: string;
  style?: CSSProperties;
  'aria-label'?: string;
  [data: `data-${string}`]: string | undefined;
}

/** An in-app link: a real `<a href>` (new tab, copy link work) that navigates without a reload. */
export function Link({ href, children, ...rest }: LinkProps) {
  return (
    <a href={href} onClick={(e) => linkClick(e as MouseEvent, href)} {...rest}>
      {children}
    </a>
  );
}

/** The trace view, with a span selected when given. */
export function traceHref(traceId: string, spanId?: string | null): string {
  return withParams(`/traces/${encodeURIComponent(traceId)}`, { span: spanId ?? null });
}

/** An error group's page over a range (URL params as from `rangeParams`/`rangeAround`). */
export function groupHref(fingerprint: string, range: Record<string, string> = {}): string {
  return withParams(`/errors/${encodeURIComponent(fingerprint)}`, range);
}

/** A session's page over a range (none: the server's default window). */
export function sessionHref(sessionId: string, range: Record<string, string> = {}): string {
  return withParams(`/sessions/${encodeURIComponent(sessionId)}`, range);
}

/** The logs page showing `query` over a range. */
export function logsHref(query: string, range: Record<string, string> = {}): string {
  return withParams('/logs', { query, ...range });
}

/** Services as chips, each with its colour dot. */
export function ServiceChips({ services }: { services: string[] }) {
  return (
    <>
      {services.map((s) => (
        <span key={s} class="svc-chip">
          <i class="dot" style={{ background: serviceColor(s) }} />
          {s}
        </span>
      ))}
    </>
  );
}
