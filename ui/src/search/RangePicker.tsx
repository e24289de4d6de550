import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { fmtTime } from '../lib/format';
import { setParams } from '../lib/router';
import { iso, PRESETS, rangeFromParams, type Range } from './timerange';

/**
 * The page's time range from the URL. It is recomputed (presets slide with "now") when the
 * URL changes, except for `viewKeys` (what is expanded or selected, which must not reload the
 * data), and when auto-refresh (`refresh=<seconds>`) ticks. `fallback` is the preset used when
 * the URL names none.
 */
export function useRange(
  params: URLSearchParams,
  { fallback = '1h', viewKeys = [] }: { fallback?: string; viewKeys?: readonly string[] } = {},
): { range: Range; startS: string; endS: string; refresh: number } {
  const refresh = Number(params.get('refresh') ?? 0);
  const [tick, setTick] = useState(0);
  const searchKey = [...params.entries()].filter(([k]) => !viewKeys.includes(k)).map(([k, v]) => `${k}=${v}`).join('&');
  const range = useMemo(() => rangeFromParams(params, Date.now() * 1e6, fallback), [searchKey, tick, fallback]);
  useEffect(() => {
    if (!refresh || !range.preset) return;
    const t = setInterval(() => setTick((x) => x + 1), refresh * 1000);
    return () => clearInterval(t);
  }, [refresh, range.preset]);
  return { range, startS: iso(range.start), endS: iso(range.end), refresh };
}

/** Preset buttons, a custom absolute range and auto-refresh; all of it written to the URL. */
export function RangePicker({ range, refresh }: { range: Range; refresh: number }) {
  return (
    <div class="range-picker" role="group" aria-label="Time range">
      {PRESETS.map((p) => (
        <button
          key={p.id}
          type="button"
          class={`btn seg${range.preset === p.id ? ' on' : ''}`}
          aria-pressed={range.preset === p.id}
          title={p.label}
          onClick={() => setParams({ range: p.id, start: null, end: null }, false)}
        >
          {p.id}
        </button>
      ))}
      <details class="custom-range">
        <summary class={`btn seg${range.preset ? '' : ' on'}`}>{range.preset ? 'Custom' : `${fmtTime(range.start)} → ${fmtTime(range.end)}`}</summary>
        <form
          class="popover"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.target as HTMLFormElement);
            const s = Date.parse(String(f.get('from')));
            const t = Date.parse(String(f.get('to')));
            if (!Number.isNaN(s) && !Number.isNaN(t) && s < t) {
              setParams({ range: null, start: iso(s * 1e6), end: iso(t * 1e6) }, false);
              (e.target as HTMLElement).closest('details')?.removeAttribute('open');
            }
          }}
        >
          <label>
            From <input name="from" type="datetime-local" step="1" defaultValue={localInput(range.start)} />
          </label>
          <label>
            To <input name="to" type="datetime-local" step="1" defaultValue={localInput(range.end)} />
          </label>
          <button type="submit" class="btn primary">Apply</button>
        </form>
      </details>
      <label class="refresh">
        <span class="visually-hidden">Auto-refresh</span>
        <select
          aria-label="Auto-refresh"
          value={String(refresh)}
          disabled={!range.preset}
          onChange={(e) => setParams({ refresh: (e.target as HTMLSelectElement).value === '0' ? null : (e.target as HTMLSelectElement).value })}
        >
          <option value="0">Auto-refresh off</option>
          <option value="5">Every 5s</option>
          <option value="30">Every 30s</option>
          <option value="60">Every 1m</option>
        </select>
      </label>
    </div>
  );
}

/** A link that widens the page's range to the last 7 days (offered when nothing was found). */
export function WiderRangeLink({ children }: { children: ComponentChildren }) {
  return (
    <a
      href="#"
      onClick={(e) => {
        e.preventDefault();
        setParams({ range: '7d', start: null, end: null }, false);
      }}
    >
      {children}
    </a>
  );
}

function localInput(ns: number): string {
  const d = new Date(ns / 1e6);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
