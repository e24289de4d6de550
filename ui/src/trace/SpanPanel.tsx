import { useState } from 'preact/hooks';
import { fmtDuration, fmtOffset, fmtTime, fmtValue, serviceColor } from '../lib/format';
import { groupHref, Link, logsHref } from '../lib/links';
import { linkClick } from '../lib/router';
import type { Attrs, ErrorOccurrence, LogRecord, TraceSpan } from '../lib/types';
import { LevelBadge } from '../logs/LogList';
import { ResizeHandle, useResizable } from '../lib/Resize';
import { AttrTable, CopyBtn, Value } from './AttrTable';
import { skewNote } from './model';

interface Props {
  span: TraceSpan;
  /** Another span of the trace has the same id. */
  duplicate?: boolean;
  onFilter: (key: string, value: unknown) => void;
  /** Logs emitted in this span, oldest first. */
  logs: LogRecord[];
  /** Error occurrences of this span, oldest first (empty on servers that do not group errors). */
  errors: ErrorOccurrence[];
  /** Range URL params that cover the trace, for links to the logs and errors pages. */
  range: Record<string, string>;
}

/** One error shown in the panel: from a grouped occurrence, or from a raw exception event. */
interface ShownError {
  type: string;
  message: string;
  stacktrace: string;
  fingerprint?: string;
}

const PANEL_WIDTH_KEY = 'tracehouse.spanPanel.width';
const clampWidth = (w: number) => Math.min(Math.max(320, w), Math.max(320, window.innerWidth * 0.7));

export function SpanPanel({ span: s, duplicate = false, onFilter, logs, errors, range }: Props) {
  const [filter, setFilter] = useState('');
  // The panel's left edge drags (or ←/→ on it) to widen or narrow it; the width is remembered.
  const panel = useResizable(PANEL_WIDTH_KEY, () => 440, clampWidth, -1, 40);
  // Grouped occurrences when the server has them (they also cover error logs); else the events.
  const shownErrors: ShownError[] = errors.length
    ? errors
    : s.events
        .filter((e) => e.name === 'exception')
        .map((e) => ({
          type: String(e.attributes['exception.type'] ?? 'exception'),
          message: String(e.attributes['exception.message'] ?? ''),
          stacktrace: e.attributes['exception.stacktrace'] === undefined ? '' : String(e.attributes['exception.stacktrace']),
        }));
  const skew = skewNote(s);
  const intrinsics: Attrs = {
    span_kind: s.kind,
    service_version: s.service_version ?? null,
    environment: s.environment ?? null,
    session_id: s.session_id ?? null,
  };
  return (
    <div class="span-panel-wrap" style={{ '--panel-w': `${panel.width}px` }}>
      <ResizeHandle class="panel-resize" label="Resize the span panel" resizable={panel} />
      <aside class="span-panel" aria-label="Selected span">
        <header>
          <h2 class="span-title" title={s.name}>
            <i class="dot" style={{ background: serviceColor(s.service_name) }} /> <span class="clamp">{s.name}</span>
          </h2>
          {duplicate && (
            <p class="banner warn dup-note">
              Another span of this trace has the same span id {s.span_id}: both are shown (Zipkin-style shared client/server spans, or a span sent twice).
            </p>
          )}
          <dl class="facts">
            <dt>Service</dt>
            <dd>{s.service_name}</dd>
            <dt>Duration</dt>
            <dd>{fmtDuration(s.duration_nanos)}</dd>
            <dt>Start</dt>
            <dd class="mono">
              {fmtTime(s.start_time_unix_nano)}
              {skew && (
                <span class="badge skew" title="moved into its parent: its host's clock disagrees with the parent's; the stored times are unchanged">
                  {skew}
                </span>
              )}
            </dd>
            <dt>Status</dt>
            <dd>
              <span class={`pill ${s.status_code}`}>{s.status_code}</span> {s.status_message}
            </dd>
            <dt>Span ID</dt>
            <dd class="mono">
              {s.span_id} <CopyBtn text={s.span_id} label="span id" />
            </dd>
            <dt>Trace ID</dt>
            <dd class="mono">
              {s.trace_id} <CopyBtn text={s.trace_id} label="trace id" />
            </dd>
            {s.parent_span_id && (
              <>
                <dt>Parent</dt>
                <dd class="mono">{s.parent_span_id}</dd>
              </>
            )}
          </dl>
        </header>

        {shownErrors.length > 0 && (
          <section class="exceptions" aria-label="Errors">
            <h3>
              Errors <span class="badge">{shownErrors.length}</span>
            </h3>
            {shownErrors.map((e, i) => (
              <div key={i} class="exception">
                <strong>{e.type}</strong>: {e.message}
                {e.fingerprint && (
                  <>
                    {' '}
                    <Link class="group-link" href={groupHref(e.fingerprint, range)} title="All occurrences of this error">
                      error group →
                    </Link>
                  </>
                )}
                {e.stacktrace && (
                  <div class="code-block">
                    <CopyBtn text={e.stacktrace} label="stack trace" />
                    <pre class="stack">{e.stacktrace}</pre>
                  </div>
                )}
              </div>
            ))}
          </section>
        )}

        <div class="attr-search">
          <label for="attr-filter" class="visually-hidden">
            Search attributes
          </label>
          <input id="attr-filter" type="search" placeholder="Search attributes…" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        </div>
        <AttrTable title="Span attributes" attrs={s.attributes} filter={filter} onFilter={onFilter} />
        <AttrTable title="Resource attributes" attrs={s.resource_attributes} filter={filter} onFilter={onFilter} />
        <AttrTable title="Span fields" attrs={intrinsics} filter={filter} onFilter={onFilter} />

        <section aria-label="Logs" class="span-logs">
          <h3>
            Logs <span class="badge">{logs.length}</span>
            <Link class="more-link" href={logsHref(`trace_id:${s.trace_id}`, range)}>
              all logs of this trace →
            </Link>
          </h3>
          {logs.length === 0 ? (
            <p class="hint">No logs were emitted in this span.</p>
          ) : (
            <ul class="span-log-list">
              {logs.map((l) => (
                <li key={l.log_id} data-log-id={l.log_id}>
                  <span class="mono">{fmtOffset(l.time_unix_nano - s.start_time_unix_nano)}</span> <LevelBadge level={l.level} /> <span class="log-text">{l.body}</span>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section aria-label="Events">
          <h3>
            Events <span class="badge">{s.events.length}</span>
          </h3>
          {s.events.length > 0 && (
            <div class="ev-timeline" aria-hidden="true">
              {s.events.map((e, i) => (
                <i
                  key={i}
                  class={`ev-mark${e.name === 'exception' ? ' exc' : ''}`}
                  title={`${e.name} at ${fmtOffset(e.time_unix_nano - s.start_time_unix_nano)}`}
                  style={{ left: `${s.duration_nanos ? Math.min(100, Math.max(0, ((e.time_unix_nano - s.start_time_unix_nano) / s.duration_nanos) * 100)) : 0}%` }}
                />
              ))}
            </div>
          )}
          <ul class="events">
            {s.events.map((e, i) => (
              <li key={i}>
                <span class="mono">{fmtOffset(e.time_unix_nano - s.start_time_unix_nano)}</span> <strong>{e.name}</strong>
                {Object.keys(e.attributes ?? {}).length > 0 && (
                  <table class="kv small">
                    <tbody>
                      {Object.entries(e.attributes).filter(([k]) => k !== 'exception.stacktrace').map(([k, v]) => (
                        <tr key={k}>
                          <th scope="row" class="mono">{k}</th>
                          <td class="mono val">
                            <Value value={v} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </li>
            ))}
          </ul>
        </section>

        <section aria-label="Links">
          <h3>
            Links <span class="badge">{s.links.length}</span>
          </h3>
          <ul class="links">
            {s.links.map((l, i) => {
              const href = `/traces/${l.trace_id}?span=${l.span_id}`;
              return (
                <li key={i}>
                  <a href={href} class="mono span-link" onClick={(e) => linkClick(e as MouseEvent, href)}>
                    {l.trace_id.slice(0, 16)}… / {l.span_id}
                  </a>
                  {Object.keys(l.attributes ?? {}).length > 0 && <span class="hint"> {Object.entries(l.attributes).map(([k, v]) => `${k}=${fmtValue(v)}`).join(' ')}</span>}
                </li>
              );
            })}
          </ul>
        </section>
      </aside>
    </div>
  );
}

