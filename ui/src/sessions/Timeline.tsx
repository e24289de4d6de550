import { Fragment } from 'preact';
import { useRef } from 'preact/hooks';
import { fmtDuration, fmtTick, serviceTint } from '../lib/format';
import { levelColor } from '../lib/levels';
import { offsetTicks } from '../lib/ticks';
import { useWidth } from '../lib/useWidth';
import { groupHref, Link, traceHref } from '../lib/links';
import { LevelBadge } from '../logs/LogList';
import type { Timeline as Layout } from './timeline';

const LANE_H = 26;
/** Room for one axis label, px. */
const TICK_PX = 90;
const pct = (f: number) => `${(f * 100).toFixed(3)}%`;

/** Seeking from the timeline, when the session has a replay: where the player is (ns) and how
 * to move it. */
export interface TimelineClock {
  cursor: number;
  onSeek: (ns: number) => void;
}

/** An unmodified left click seeks instead of following the link (a modified one still opens
 * it, in a new tab or window). */
function seekOnClick(clock: TimelineClock | undefined, ns: number) {
  if (!clock) return {};
  return {
    onClick: (e: MouseEvent) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      clock.onSeek(ns);
    },
  };
}

/** A session on one time axis: trace bars, error markers, and a row of log marks per level.
 * With a `clock` (a replay), a cursor marks the player's time on every row, and clicking a
 * bar, a marker or a row's background moves the player there. */
export function Timeline({ layout: t, range, clock }: { layout: Layout; range: Record<string, string>; clock?: TimelineClock }) {
  const span = t.end - t.start;
  const axis = useRef<HTMLDivElement>(null);
  const ticks = offsetTicks(span, Math.max(1, Math.floor(useWidth(axis, 600) / TICK_PX)));
  const cursor = clock && clock.cursor >= t.start && clock.cursor <= t.end ? <i class="tl-cursor" aria-hidden="true" style={{ left: pct((clock.cursor - t.start) / span) }} /> : null;
  const seekTrack = clock
    ? {
        onClick: (e: MouseEvent) => {
          if (e.target !== e.currentTarget) return;
          const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
          clock.onSeek(t.start + ((e.clientX - box.left) / Math.max(1, box.width)) * span);
        },
      }
    : {};
  return (
    <section class={`panel timeline${clock ? ' seekable' : ''}`} aria-label="Session timeline">
      <div class="tl-row tl-axis" aria-hidden="true">
        <span class="tl-label" />
        <div class="tl-track" ref={axis} {...seekTrack}>
          {cursor}
          {ticks.map((x) => (
            <span key={x} class={x / span > 0.9 ? 'end' : ''} style={{ left: pct(x / span) }}>
              +{fmtTick(x)}
            </span>
          ))}
        </div>
      </div>
      <div class="tl-row">
        <span class="tl-label">Traces</span>
        <div class="tl-track" style={{ height: `${Math.max(1, t.lanes) * LANE_H}px` }} {...seekTrack}>
          {cursor}
          {t.bars.map((b) => {
            const tr = b.trace;
            const desc = `${tr.root_name || '(missing root)'}, ${fmtDuration(tr.duration)}, ${tr.services.join(', ')}${tr.error_count ? `, ${tr.error_count} errors` : ''}`;
            return (
              <Fragment key={tr.trace_id}>
              <Link
                class={`tl-bar${tr.error_count ? ' error' : ''}`}
                href={traceHref(tr.trace_id)}
                title={desc}
                aria-label={`Trace ${desc}`}
                data-trace-id={tr.trace_id}
                style={{ left: pct(b.left), width: pct(b.width), top: `${b.lane * LANE_H}px`, background: serviceTint(tr.root_service) }}
                {...seekOnClick(clock, tr.start)}
              >
                {b.labelAt === null && (
                  <>
                    {tr.root_name} <small>{fmtDuration(tr.duration)} · {tr.services.join(', ')}</small>
                  </>
                )}
              </Link>
              {b.labelAt !== null && (
                <span class="tl-bar-label" aria-hidden="true" style={{ left: pct(b.labelAt), top: `${b.lane * LANE_H}px` }}>
                  {tr.root_name} <small>{fmtDuration(tr.duration)}</small>
                </span>
              )}
              </Fragment>
            );
          })}
        </div>
      </div>
      {t.errors.length > 0 && (
        <div class="tl-row">
          <span class="tl-label">Errors</span>
          <div class="tl-track tl-errors" {...seekTrack}>
            {cursor}
            {t.errors.map((b) => (
              <Link
                key={b.left}
                class="tl-err"
                href={groupHref(b.first.fingerprint, range)}
                title={`${b.first.type}: ${b.first.message}${b.count > 1 ? ` (+${b.count - 1} more here)` : ''}`}
                aria-label={`Error ${b.first.type}: ${b.first.message}${b.count > 1 ? `, and ${b.count - 1} more at this time` : ''}`}
                style={{ left: pct(b.left) }}
                {...seekOnClick(clock, b.first.time_unix_nano)}
              >
                {b.count > 1 ? b.count : '!'}
              </Link>
            ))}
          </div>
        </div>
      )}
      {t.logRows.map((row) => (
        <div class="tl-row" key={row.level}>
          <span class="tl-label">
            <LevelBadge level={row.level} />
          </span>
          <div class="tl-track tl-logs" aria-hidden="true" {...seekTrack}>
            {cursor}
            {row.bins.map((b) => (
              <i key={b.left} style={{ left: pct(b.left), background: levelColor(row.level) }} title={`${b.count} ${row.level} log${b.count > 1 ? 's' : ''}: ${b.first.body}`} />
            ))}
          </div>
        </div>
      ))}
    </section>
  );
}
