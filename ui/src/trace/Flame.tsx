import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { fmtDuration, serviceColor, serviceTint } from '../lib/format';
import { niceTicks } from '../lib/ticks';
import { flameLayout, panWindow, spanTree, zoomWindow, type Window } from './flame';
import { pathTo, type Node, type Section, type TraceTree } from './model';

interface Props {
  tree: TraceTree;
  zoom: string | null;
  selected: string | null;
  matches: Set<string> | null;
  /** Critical sections by node key (none when the critical path is hidden). */
  critical: Map<string, Section[]> | null;
  onZoom: (id: string | null) => void;
  onSelect: (id: string) => void;
}

const ROW = 22;
/** Boxes narrower than this share of the shown time are left out (they would be < 1 px). */
const MIN_SHARE = 0.0005;
/** Rows drawn above and below the visible ones. */
const OVERSCAN = 15;
/** How much one key press zooms (W/S) or pans (A/D). */
const KEY_ZOOM = 0.6;
const KEY_PAN = 0.2;
/** Wheel zoom per pixel of scroll (a pinch on a trackpad arrives as a wheel with Ctrl). */
const WHEEL_ZOOM = 0.002;

/**
 * Icicle chart: x = time, y = depth, with concurrent siblings in lanes of their own and a time
 * axis; clicking a span selects it and zooms into it, the breadcrumbs zoom back out. Inside
 * that, Ctrl+wheel (or a pinch) zooms around the pointer, Shift+wheel pans, and W/S zoom and
 * A/D pan from the keyboard (0 shows the whole span again).
 */
export function Flame({ tree, zoom, selected, matches, critical, onZoom, onSelect }: Props) {
  const zNode = zoom ? tree.byId.get(zoom) ?? null : null;
  const bounds: Window = zNode ? [zNode.span.start_time_unix_nano, zNode.span.end_time_unix_nano] : [tree.start, tree.end];
  // A window zoomed into by wheel or keys, for the span zoom it was made in.
  const [win, setWin] = useState<{ zoom: string | null; w: Window } | null>(null);
  const [zs, ze] = win && win.zoom === zoom ? win.w : bounds;
  const total = Math.max(1, ze - zs);
  const crumbs = zNode ? pathTo(zNode) : [];
  const moveWindow = (f: (w: Window) => Window) =>
    setWin((cur) => {
      const w = f(cur && cur.zoom === zoom ? cur.w : bounds);
      return w[0] <= bounds[0] && w[1] >= bounds[1] ? null : { zoom, w };
    });
  const zoomTo = (id: string | null) => {
    setWin(null);
    onZoom(id);
  };
  const { boxes, rows } = useMemo(() => {
    const keep = (n: Node) =>
      n.span.end_time_unix_nano >= zs && n.span.start_time_unix_nano <= ze && ((Math.min(n.span.end_time_unix_nano, ze) - Math.max(n.span.start_time_unix_nano, zs)) / total >= MIN_SHARE || n.key === selected);
    return flameLayout(zNode ? [zNode] : tree.roots, spanTree, keep);
  }, [tree, zNode, zs, ze, total]);
  // About one tick per 160 px of screen.
  // Only the rows in view are drawn (a 5,000-span trace can need a thousand lanes).
  const scroller = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 900 });
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop - (body.current?.offsetTop ?? 0), height: el.clientHeight || 900 });
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    el.addEventListener('scroll', measure, { passive: true });
    measure();
    return () => {
      ro.disconnect();
      el.removeEventListener('scroll', measure);
    };
  }, []);
  const firstRow = Math.floor(view.top / ROW) - OVERSCAN;
  const lastRow = Math.ceil((view.top + view.height) / ROW) + OVERSCAN;
  // Labels are offsets from the start of the span zoomed into (or of the trace).
  const ticks = niceTicks(zs - bounds[0], ze - bounds[0], Math.max(3, Math.floor(window.innerWidth / 160)));
  const tickAt = (t: number) => (t + bounds[0] - zs) / total;

  const area = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      const box = el.getBoundingClientRect();
      const at = Math.min(1, Math.max(0, (e.clientX - box.left) / Math.max(1, box.width)));
      if (e.ctrlKey || e.metaKey) moveWindow((w) => zoomWindow(w, bounds, Math.exp(e.deltaY * WHEEL_ZOOM), at));
      else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) moveWindow((w) => panWindow(w, bounds, (e.deltaX || e.deltaY) / Math.max(1, box.width)));
      else return;
      e.preventDefault();
    };
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      const step: Record<string, (w: Window) => Window> = {
        w: (w) => zoomWindow(w, bounds, KEY_ZOOM),
        s: (w) => zoomWindow(w, bounds, 1 / KEY_ZOOM),
        a: (w) => panWindow(w, bounds, -KEY_PAN),
        d: (w) => panWindow(w, bounds, KEY_PAN),
        '0': () => bounds,
      };
      const f = step[e.key.toLowerCase()];
      if (!f) return;
      e.preventDefault();
      moveWindow(f);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    window.addEventListener('keydown', onKey);
    return () => {
      el.removeEventListener('wheel', onWheel);
      window.removeEventListener('keydown', onKey);
    };
  }, [zoom, bounds[0], bounds[1]]);

  return (
    <div class="flame" ref={scroller}>
      <nav class="crumbs" aria-label="Flame graph zoom">
        <button type="button" class={`crumb${zNode ? '' : ' on'}`} onClick={() => zoomTo(null)}>
          Whole trace
        </button>
        {crumbs.map((n) => (
          <span key={n.key}>
            <span class="sep" aria-hidden="true">›</span>
            <button type="button" class={`crumb${n === zNode ? ' on' : ''}`} onClick={() => zoomTo(n.key)}>
              {n.span.name}
            </button>
          </span>
        ))}
        <span class="hint">
          {fmtDuration(total)} shown · click a span, Ctrl+wheel or W/S to zoom · Shift+wheel or A/D to pan
        </span>
      </nav>
      <div class="flame-scroll" ref={area}>
        <div class="flame-axis" aria-hidden="true">
          {ticks.map((t) => (
            <span key={t} style={{ left: `${tickAt(t) * 100}%` }} class={tickAt(t) > 0.95 ? 'end' : tickAt(t) < 0.05 ? 'start' : ''}>
              {fmtDuration(t)}
            </span>
          ))}
        </div>
        <div class="flame-body" ref={body} role="group" aria-label="Flame graph" style={{ height: `${rows * ROW + 4}px` }}>
          {ticks.map((t) => (
            <i key={t} class="flame-grid" style={{ left: `${tickAt(t) * 100}%` }} aria-hidden="true" />
          ))}
          {boxes.map(({ node: n, row }) => {
            if ((row < firstRow || row > lastRow) && n.key !== selected) return null;
            const s = n.span;
            const a = Math.max(s.start_time_unix_nano, zs);
            const b = Math.min(s.end_time_unix_nano, ze);
            const left = ((a - zs) / total) * 100;
            const width = Math.max(0.05, ((b - a) / total) * 100);
            const cls = ['flame-node', n.error ? 'error' : '', n.missing ? 'missing' : '', n.key === selected ? 'selected' : '', matches?.has(n.key) ? 'match' : ''].join(' ');
            const sections = critical?.get(n.key) ?? [];
            return (
              <button
                type="button"
                key={n.key}
                class={cls}
                data-span-id={n.key}
                data-row={row}
                title={`${s.name} (${n.missing ? 'not in this trace' : s.service_name}) ${fmtDuration(s.duration_nanos)}${n.duplicate ? ' · duplicate span id' : ''}`}
                style={{ left: `${left}%`, width: `${width}%`, top: `${row * ROW}px`, background: n.missing ? undefined : serviceTint(s.service_name), borderColor: n.missing ? undefined : serviceColor(s.service_name) }}
                onClick={() => {
                  onSelect(n.key);
                  zoomTo(n.key);
                }}
              >
                {sections.map((c, i) => (
                  <i
                    key={i}
                    class="crit-section"
                    aria-hidden="true"
                    style={{ left: `${((c.start - s.start_time_unix_nano) / Math.max(1, s.duration_nanos)) * 100}%`, width: `${((c.end - c.start) / Math.max(1, s.duration_nanos)) * 100}%` }}
                  />
                ))}
                {n.error ? '⚠ ' : ''}
                {s.name} <small>{fmtDuration(s.duration_nanos)}</small>
              </button>
            );
          })}
        </div>
      </div>
    </div>
  );
}
