import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { fmtTime, serviceColor } from '../lib/format';
import { normaliseLevel } from '../lib/levels';
import { Link, sessionHref, traceHref } from '../lib/links';
import type { Attrs, Level, LogRecord } from '../lib/types';
import { rowOffsets, scrollToRow, visibleRows } from '../lib/virtual';
import { rangeAround } from '../search/timerange';
import { AttrTable } from '../trace/AttrTable';

/** Height of a collapsed log line, in px (the CSS of `.log-line` matches it). */
export const LOG_ROW_H = 28;
const OVERSCAN = 10;

/** The level of a log as a coloured badge. */
export function LevelBadge({ level }: { level: Level | string }) {
  const l = normaliseLevel(level);
  return <span class={`lvl lvl-${l}`}>{l}</span>;
}

interface Props {
  logs: LogRecord[];
  /** log_id of the expanded line, if any. */
  expanded: string | null;
  onToggle: (logId: string | null) => void;
  /** More pages exist: reaching the end calls `onMore`. */
  hasMore?: boolean;
  loading?: boolean;
  onMore?: () => void;
  /** Adds `key:value` to the page's query ("+ filter" on an attribute). */
  onFilter?: (key: string, value: unknown) => void;
  /** Accessible name of the list. */
  label: string;
  /** `fill` takes the rest of the viewport (logs page); `compact` is capped (session page). */
  variant?: 'fill' | 'compact';
}

/**
 * A virtualised list of log lines: only the rows in view are in the DOM, so tens of thousands
 * of lines scroll smoothly. Click or Enter expands a line; ↑/↓ (or j/k), Home and End move
 * between lines; Escape collapses.
 */
export function LogList({ logs, expanded, onToggle, hasMore, loading, onMore, onFilter, label, variant = 'fill' }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(600);
  // Measured heights of rows that are not LOG_ROW_H tall (expanded lines).
  const [heights, setHeights] = useState<Map<string, number>>(() => new Map());
  const [active, setActive] = useState(0);
  const focusWanted = useRef(false);

  const offsets = useMemo(() => rowOffsets(logs.length, LOG_ROW_H, (i) => heights.get(logs[i].log_id)), [logs, heights]);
  const total = offsets[logs.length];
  const [first, last] = visibleRows(offsets, scrollTop, viewH, OVERSCAN);
  const activeIdx = Math.min(active, Math.max(0, logs.length - 1));

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight || 600));
    ro.observe(el);
    setViewH(el.clientHeight || 600);
    return () => ro.disconnect();
  }, []);

  // Measure the rendered rows after every render; only a changed height updates the layout.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    let next: Map<string, number> | null = null;
    el.querySelectorAll<HTMLElement>('.log-row').forEach((row) => {
      const id = row.dataset.logId!;
      const h = row.offsetHeight;
      const known = heights.get(id) ?? LOG_ROW_H;
      if (h > 0 && Math.abs(h - known) > 0.5) {
        next ??= new Map(heights);
        if (h === LOG_ROW_H) next.delete(id);
        else next.set(id, h);
      }
    });
    if (next) setHeights(next);
  });

  // A new result set starts at the top.
  const firstId = logs[0]?.log_id;
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
    setActive(0);
  }, [firstId]);

  // Infinite scroll: fetch the next page when the end is near (or the list does not fill the view).
  useEffect(() => {
    if (hasMore && !loading && onMore && scrollTop + viewH > total - 8 * LOG_ROW_H) onMore();
  }, [hasMore, loading, onMore, scrollTop, viewH, total]);

  // Keyboard focus follows the active row once it is rendered.
  useEffect(() => {
    if (!focusWanted.current) return;
    const btn = scroller.current?.querySelector<HTMLElement>(`.log-line[data-index="${activeIdx}"]`);
    if (btn) {
      btn.focus({ preventScroll: true });
      focusWanted.current = false;
    }
  });

  const moveTo = (i: number) => {
    const el = scroller.current;
    if (!el || !logs.length) return;
    const idx = Math.max(0, Math.min(logs.length - 1, i));
    setActive(idx);
    const top = scrollToRow(offsets, idx, el.scrollTop, el.clientHeight);
    if (top !== null) {
      el.scrollTop = top;
      setScrollTop(top);
    }
    // Focus now when the row is rendered, else as soon as it is.
    const btn = el.querySelector<HTMLElement>(`.log-line[data-index="${idx}"]`);
    if (btn) btn.focus({ preventScroll: true });
    else focusWanted.current = true;
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement;
    if (!t.classList.contains('log-line')) return;
    const i = Number(t.dataset.index);
    const step = Math.max(1, Math.floor(viewH / LOG_ROW_H) - 1);
    const to: Record<string, number> = { ArrowDown: i + 1, j: i + 1, ArrowUp: i - 1, k: i - 1, PageDown: i + step, PageUp: i - step, Home: 0, End: logs.length - 1 };
    if (e.key in to && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      moveTo(to[e.key]);
    } else if (e.key === 'Escape' && expanded) {
      e.preventDefault();
      onToggle(null);
    }
  };

  return (
    <div class={`log-list ${variant}`}>
      <div class="log-head" aria-hidden="true">
        <span class="log-time">Time</span>
        <span class="log-lvl">Level</span>
        <span class="log-svc">Service</span>
        <span class="log-body">Message</span>
      </div>
      <div ref={scroller} class="log-scroll" style={{ height: `${Math.max(total, LOG_ROW_H)}px` }} onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)} onKeyDown={onKeyDown}>
        <div class="log-inner" role="list" aria-label={label} style={{ height: `${total}px` }}>
          {logs.slice(first, last).map((l, k) => {
            const i = first + k;
            const open = expanded === l.log_id;
            return (
              <div key={l.log_id} role="listitem" class={`log-row${open ? ' open' : ''}`} data-log-id={l.log_id} style={{ top: `${offsets[i]}px` }}>
                <button
                  type="button"
                  class="log-line"
                  data-index={i}
                  tabIndex={i === activeIdx ? 0 : -1}
                  aria-expanded={open}
                  aria-controls={open ? `log-detail-${l.log_id}` : undefined}
                  onClick={() => {
                    setActive(i);
                    onToggle(open ? null : l.log_id);
                  }}
                >
                  <span class="log-time mono">{fmtTime(l.time_unix_nano)}</span>
                  <span class="log-lvl">
                    <LevelBadge level={l.level} />
                  </span>
                  <span class="log-svc">
                    <i class="dot" style={{ background: serviceColor(l.service_name) }} />
                    {l.service_name}
                  </span>
                  <span class="log-body">{l.body}</span>
                </button>
                {open && <LogDetail log={l} onFilter={onFilter} />}
              </div>
            );
          })}
        </div>
      </div>
      {hasMore && (
        <button type="button" class="btn more" disabled={loading} onClick={onMore}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}

/** The expanded part of a log line: full body, links to its trace and session, all fields. */
function LogDetail({ log: l, onFilter }: { log: LogRecord; onFilter?: Props['onFilter'] }) {
  const fields: Attrs = {
    log_id: l.log_id,
    trace_id: l.trace_id,
    span_id: l.span_id,
    session_id: l.session_id,
    severity_text: l.severity_text,
    severity_number: l.severity_number,
    scope_name: l.scope_name ?? null,
    service_version: l.service_version ?? null,
    environment: l.environment ?? null,
  };
  return (
    <div class="log-detail" id={`log-detail-${l.log_id}`}>
      <pre class="log-full">{l.body}</pre>
      {(l.trace_id || l.session_id) && (
        <p class="row log-links">
          {l.trace_id && (
            <Link class="btn open-trace" href={traceHref(l.trace_id, l.span_id)}>
              Open trace{l.span_id ? ' at this span' : ''} →
            </Link>
          )}
          {l.session_id && (
            <Link class="btn open-session" href={sessionHref(l.session_id, rangeAround(l.time_unix_nano, l.time_unix_nano))}>
              Open session →
            </Link>
          )}
        </p>
      )}
      <div class="log-attr-cols">
        <AttrTable title="Attributes" attrs={l.attributes} onFilter={onFilter} />
        <AttrTable title="Resource attributes" attrs={l.resource_attributes} onFilter={onFilter} />
        <AttrTable title="Log fields" attrs={fields} />
      </div>
    </div>
  );
}
