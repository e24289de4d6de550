import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { fmtDuration, serviceColor } from '../lib/format';
import { ResizeHandle, useResizable } from '../lib/Resize';
import { niceTicks } from '../lib/ticks';
import { skewNote, type Node, type Section, type TraceTree } from './model';

export const ROW_H = 26;
const OVERSCAN = 12;

interface Props {
  tree: TraceTree;
  rows: Node[];
  selected: string | null;
  collapsed: Set<string>;
  /** Critical sections by node key (none when the critical path is hidden). */
  critical: Map<string, Section[]> | null;
  matches: Set<string> | null;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
}

const NAME_WIDTH_KEY = 'tracehouse.waterfall.nameWidth';

export function Waterfall({ tree, rows, selected, collapsed, critical, matches, onSelect, onToggle }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [width, setWidth] = useState(1000);
  const total = Math.max(1, tree.end - tree.start);
  // The name column: 40% of the waterfall until the user drags its edge; at most 80% of it.
  const nameCol = useResizable(NAME_WIDTH_KEY, () => width * 0.4, (w) => Math.min(Math.max(120, width * 0.8), Math.max(120, w)), 1);
  const nameW = nameCol.width;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => {
      setHeight(el.clientHeight || 600);
      setWidth(el.clientWidth || 1000);
    };
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    measure();
    return () => ro.disconnect();
  }, []);

  // Keep the selected row in view.
  useEffect(() => {
    const el = scroller.current;
    if (!el || !selected) return;
    const idx = rows.findIndex((r) => r.key === selected);
    if (idx < 0) return;
    const top = idx * ROW_H;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_H - el.clientHeight;
  }, [selected, rows]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_H) + OVERSCAN);
  const slice = rows.slice(first, last);

  return (
    <div class="waterfall" style={{ '--wf-name': `${nameW}px` }}>
      <Minimap tree={tree} rows={rows} first={Math.floor(scrollTop / ROW_H)} visible={Math.ceil(height / ROW_H)} critical={critical} onJump={(i) => {
        if (scroller.current) scroller.current.scrollTop = Math.max(0, i * ROW_H - height / 2);
      }} />
      <div class="wf-axis">
        <div class="wf-name-col">
          <span aria-hidden="true">Span</span>
          <ResizeHandle class="col-resize" label="Resize the span name column" resizable={nameCol} />
        </div>
        <div class="wf-time-col" aria-hidden="true">
          {niceTicks(0, total, Math.max(3, Math.floor((width - nameW) / 80))).map((t) => (
            <span key={t} class={t / total > 0.9 ? 'end' : ''} style={{ left: `${(t / total) * 100}%` }}>
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
        aria-activedescendant={selected ? `row-${cssId(selected)}` : undefined}
        tabIndex={0}
        onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)}
      >
        <div class="wf-inner" style={{ height: `${rows.length * ROW_H}px` }}>
          {slice.map((n, k) => {
            const s = n.span;
            const i = first + k;
            const left = ((s.start_time_unix_nano - tree.start) / total) * 100;
            const width = Math.max(0.15, (s.duration_nanos / total) * 100);
            const isCollapsed = collapsed.has(n.key);
            const color = n.missing ? 'var(--muted)' : serviceColor(s.service_name);
            const skew = skewNote(s);
            const sections = critical?.get(n.key);
            const cls = [
              'wf-row',
              n.key === selected ? 'selected' : '',
              n.error ? 'error' : '',
              n.missing ? 'missing' : '',
              sections ? 'critical' : '',
              matches && matches.has(n.key) ? 'match' : '',
            ].join(' ');
            const title = n.missing
              ? `Span ${s.span_id} is not in this trace; ${n.children.length} span${n.children.length === 1 ? ' names' : 's name'} it as parent`
              : `${s.name} (${s.service_name}) ${fmtDuration(s.duration_nanos)}${n.duplicate ? ' · another span of this trace has the same id' : ''}`;
            return (
              <div
                key={n.key}
                id={`row-${cssId(n.key)}`}
                class={cls}
                role="treeitem"
                aria-level={n.depth + 1}
                aria-expanded={n.children.length ? !isCollapsed : undefined}
                aria-selected={n.key === selected}
                data-span-id={n.key}
                data-depth={n.depth}
                style={{ top: `${i * ROW_H}px`, height: `${ROW_H}px` }}
                onClick={() => onSelect(n.key)}
              >
                <div class="wf-name-col" style={{ paddingLeft: `${6 + n.depth * 14}px` }}>
                  {n.children.length > 0 ? (
                    <button
                      type="button"
                      class="toggle"
                      aria-label={`${isCollapsed ? 'Expand' : 'Collapse'} ${s.name}`}
                      onClick={(e) => {
                        e.stopPropagation();
                        onToggle(n.key);
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
                  <span class="wf-span-name" title={title}>
                    {n.missing ? `missing parent ${s.span_id}` : s.name}
                  </span>
                  {!n.missing && (
                    <span class="wf-service" title={s.service_name}>
                      {s.service_name}
                    </span>
                  )}
                  {skew && (
                    <span class="badge skew" title={skew} aria-label={skew}>
                      skew
                    </span>
                  )}
                  {n.duplicate && (
                    <span class="badge dup" title="Another span of this trace has the same span id (e.g. a Zipkin client/server pair sharing one)">
                      dup id
                    </span>
                  )}
                  {isCollapsed && (
                    <span class={`badge${n.errorsBelow ? ' err' : ''}`} title={n.errorsBelow ? `${n.descendants} hidden spans, ${n.errorsBelow} with errors` : `${n.descendants} hidden spans`}>
                      +{n.descendants}
                      {n.errorsBelow > 0 && ` · ${n.errorsBelow} !`}
                    </span>
                  )}
                </div>
                <div class="wf-time-col">
                  <div class="wf-bar" style={{ left: `${left}%`, width: `${width}%`, background: color }}>
                    {sections?.map((c, j) => (
                      <i
                        key={`c${j}`}
                        class="crit-section"
                        aria-hidden="true"
                        style={{ left: `${((c.start - s.start_time_unix_nano) / Math.max(1, s.duration_nanos)) * 100}%`, width: `${((c.end - c.start) / Math.max(1, s.duration_nanos)) * 100}%` }}
                      />
                    ))}
                    {s.events.map((ev, j) => (
                      <i
                        key={j}
                        class={`ev-mark${ev.name === 'exception' ? ' exc' : ''}`}
                        title={ev.name}
                        style={{ left: `${s.duration_nanos ? ((ev.time_unix_nano - s.start_time_unix_nano) / s.duration_nanos) * 100 : 0}%` }}
                      />
                    ))}
                  </div>
                  <span class={`wf-dur${durInside(left, width) ? ' inside' : ''}`} style={durPlace(left, width)}>
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

/** The duration label goes right of the bar, else left of it, else (a bar across the whole
 * trace) inside its right end, so that it never runs into the name column. */
const durInside = (left: number, width: number) => left + width > 85 && left < 15;
function durPlace(left: number, width: number): Record<string, string> {
  if (left + width <= 85) return { left: `${left + width + 0.5}%` };
  if (left >= 15) return { right: `${100 - left + 0.5}%` };
  return { right: `${100 - left - width + 0.5}%` };
}

/** A span key as an element id (keys of markers and duplicates have `:` and `#`). */
const cssId = (key: string) => key.replace(/[^A-Za-z0-9_-]/g, '_');

function Minimap({ tree, rows, first, visible, critical, onJump }: { tree: TraceTree; rows: Node[]; first: number; visible: number; critical: Map<string, Section[]> | null; onJump: (i: number) => void }) {
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
      ctx.fillStyle = n.error ? '#dc2626' : critical?.has(n.key) ? '#f59e0b' : serviceColor(s.service_name);
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
