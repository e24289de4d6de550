import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { fmtDuration, serviceColor } from '../lib/format';
import { skewNote, type Node, type TraceTree } from './model';

export const ROW_H = 26;
const OVERSCAN = 12;

interface Props {
  tree: TraceTree;
  rows: Node[];
  selected: string | null;
  collapsed: Set<string>;
  critical: Set<string> | null;
  matches: Set<string> | null;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
}

function ticks(total: number): number[] {
  const n = 5;
  return Array.from({ length: n + 1 }, (_, i) => (total * i) / n);
}

export function Waterfall({ tree, rows, selected, collapsed, critical, matches, onSelect, onToggle }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const total = Math.max(1, tree.end - tree.start);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    ro.observe(el);
    setHeight(el.clientHeight || 600);
    return () => ro.disconnect();
  }, []);

  // Keep the selected row in view.
  useEffect(() => {
    const el = scroller.current;
    if (!el || !selected) return;
    const idx = rows.findIndex((r) => r.span.span_id === selected);
    if (idx < 0) return;
    const top = idx * ROW_H;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_H - el.clientHeight;
  }, [selected, rows]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_H) + OVERSCAN);
  const slice = rows.slice(first, last);

  return (
    <div class="waterfall">
      <Minimap tree={tree} rows={rows} first={Math.floor(scrollTop / ROW_H)} visible={Math.ceil(height / ROW_H)} critical={critical} onJump={(i) => {
        if (scroller.current) scroller.current.scrollTop = Math.max(0, i * ROW_H - height / 2);
      }} />
      <div class="wf-axis" aria-hidden="true">
        <div class="wf-name-col">Span</div>
        <div class="wf-time-col">
          {ticks(total).map((t, i) => (
            <span key={i} style={{ left: `${(t / total) * 100}%` }}>
              {fmtDuration(t)}
            </span>
          ))}
        </div>
      </div>
      <div
        ref={scroller}
        class="wf-scroll"
        role="tree"
        aria-label="Span waterfall"
        aria-activedescendant={selected ? `row-${selected}` : undefined}
        tabIndex={0}
        onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)}
      >
        <div class="wf-inner" style={{ height: `${rows.length * ROW_H}px` }}>
          {slice.map((n, k) => {
            const s = n.span;
            const i = first + k;
            const left = ((s.start_time_unix_nano - tree.start) / total) * 100;
            const width = Math.max(0.15, (s.duration_nanos / total) * 100);
            const isCollapsed = collapsed.has(s.span_id);
            const skew = skewNote(s);
            const color = serviceColor(s.service_name);
            const cls = [
              'wf-row',
              s.span_id === selected ? 'selected' : '',
              n.error ? 'error' : '',
              critical?.has(s.span_id) ? 'critical' : '',
              matches && matches.has(s.span_id) ? 'match' : '',
            ].join(' ');
            return (
              <div
                key={s.span_id}
                id={`row-${s.span_id}`}
                class={cls}
                role="treeitem"
                aria-level={n.depth + 1}
                aria-expanded={n.children.length ? !isCollapsed : undefined}
                aria-selected={s.span_id === selected}
                data-span-id={s.span_id}
                data-depth={n.depth}
                style={{ top: `${i * ROW_H}px`, height: `${ROW_H}px` }}
                onClick={() => onSelect(s.span_id)}
              >
                <div class="wf-name-col" style={{ paddingLeft: `${6 + n.depth * 14}px` }}>
                  {n.children.length > 0 ? (
                    <button
                      type="button"
                      class="toggle"
                      aria-label={`${isCollapsed ? 'Expand' : 'Collapse'} ${s.name}`}
                      onClick={(e) => {
                        e.stopPropagation();
                        onToggle(s.span_id);
                      }}
                    >
                      {isCollapsed ? '▸' : '▾'}
                    </button>
                  ) : (
                    <span class="toggle-spacer" />
                  )}
                  <i class="dot" style={{ background: color }} />
                  {n.error && (
                    <span class="err-mark" title="error" aria-label="error">
                      !
                    </span>
                  )}
                  <span class="wf-span-name">{s.name}</span>
                  <span class="wf-service">{s.service_name}</span>
                  {skew && (
                    <span class="badge skew" title={skew} aria-label={skew}>
                      skew
                    </span>
                  )}
                  {isCollapsed && <span class="badge">+{n.descendants}</span>}
                </div>
                <div class="wf-time-col">
                  <div class="wf-bar" style={{ left: `${left}%`, width: `${width}%`, background: color }}>
                    {s.events.map((ev, j) => (
                      <i
                        key={j}
                        class={`ev-mark${ev.name === 'exception' ? ' exc' : ''}`}
                        title={ev.name}
                        style={{ left: `${s.duration_nanos ? ((ev.time_unix_nano - s.start_time_unix_nano) / s.duration_nanos) * 100 : 0}%` }}
                      />
                    ))}
                  </div>
                  <span class="wf-dur" style={left + width > 85 ? { right: `${100 - left + 0.5}%` } : { left: `${left + width + 0.5}%` }}>
                    {fmtDuration(s.duration_nanos)}
                  </span>
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

function Minimap({ tree, rows, first, visible, critical, onJump }: { tree: TraceTree; rows: Node[]; first: number; visible: number; critical: Set<string> | null; onJump: (i: number) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const H = 48;
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const w = c.clientWidth || 800;
    const dpr = window.devicePixelRatio || 1;
    c.width = w * dpr;
    c.height = H * dpr;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, w, H);
    const total = Math.max(1, tree.end - tree.start);
    const rh = Math.max(0.5, H / Math.max(1, rows.length));
    rows.forEach((n, i) => {
      const s = n.span;
      ctx.fillStyle = n.error ? '#dc2626' : critical?.has(s.span_id) ? '#f59e0b' : serviceColor(s.service_name);
      const x = ((s.start_time_unix_nano - tree.start) / total) * w;
      ctx.fillRect(x, (i / Math.max(1, rows.length)) * H, Math.max(1, (s.duration_nanos / total) * w), Math.max(0.5, rh - (rh > 2 ? 1 : 0)));
    });
  }, [tree, rows, critical]);
  const top = (first / Math.max(1, rows.length)) * 100;
  const hgt = Math.min(100, (visible / Math.max(1, rows.length)) * 100);
  return (
    <div
      class="minimap"
      aria-label="Trace minimap: click to scroll"
      role="img"
      onClick={(e) => {
        const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
        onJump(Math.floor(((e.clientY - r.top) / r.height) * rows.length));
      }}
    >
      <canvas ref={canvas} style={{ height: `${H}px` }} />
      <div class="mm-window" style={{ top: `${top}%`, height: `${hgt}%` }} />
    </div>
  );
}
