import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { fmtDuration, fmtTime } from '../lib/format';
import type { TraceRow } from '../lib/types';
import { cssVar, loadUPlot, useTheme } from '../lib/uplot';
import { logTicks, nearestPoint, scatterData } from './scatter';

interface Props {
  traces: TraceRow[];
  /** Whether more traces match than are loaded. */
  more: boolean;
  onPick: (traceId: string) => void;
}

const HEIGHT = 130;
/** How far from a dot a click still picks it, px. */
const PICK_RADIUS = 8;

function options(width: number): uPlot.Options {
  const grid = { stroke: cssVar('--border'), width: 1 };
  const axis = { stroke: cssVar('--muted'), grid, ticks: grid, font: '11px system-ui, sans-serif' };
  const dots = (color: string, size: number) => ({ stroke: color, width: 0, paths: () => null, points: { show: true, size, fill: color, stroke: color } });
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false }, x: false, y: false },
    // x spans the loaded traces (the newest page of a long range would be a thin line at its end).
    // A margin either side keeps the first and last dots whole.
    scales: { x: { time: true, range: (_u, min, max) => [min - Math.max(1, (max - min) * 0.03), max + Math.max(1, (max - min) * 0.03)] }, y: { distr: 3, log: 10 } },
    axes: [axis, { ...axis, size: 56, splits: (u) => logTicks(u.scales.y.min ?? 0, u.scales.y.max ?? 0), values: (_u, splits) => splits.map((v) => (v === null ? '' : fmtDuration(v))) }],
    series: [{}, { label: 'traces', ...dots(cssVar('--ok'), 5) }, { label: 'failed', ...dots(cssVar('--err'), 7) }],
  };
}

/**
 * Duration against start of the loaded traces, drawn by uPlot (loaded on first use) on a log
 * scale, failed traces in the error colour; hovering a dot names its trace, clicking opens it.
 */
export function Scatter({ traces, more, onPick }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = useMemo(() => scatterData(traces), [traces]);
  const byId = useMemo(() => new Map(traces.map((t) => [t.trace_id, t])), [traces]);
  const [hover, setHover] = useState<string | null>(null);
  const theme = useTheme();

  // The dot under the pointer, if any.
  const dotAt = (u: uPlot, e: MouseEvent): string | null => {
    const box = u.over.getBoundingClientRect();
    const [left, top] = [e.clientX - box.left, e.clientY - box.top];
    const pts = data.xs.map((x, i): [number, number] | null => {
      const y = data.ok[i] ?? data.failed[i];
      return y === null ? null : [u.valToPos(x, 'x'), u.valToPos(y, 'y')];
    });
    const i = nearestPoint(pts, left, top, PICK_RADIUS);
    return i === null ? null : data.ids[i];
  };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let gone = false;
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: HEIGHT }));
    loadUPlot().then((UPlot) => {
      if (gone) return;
      const u = new UPlot(options(el.clientWidth), [data.xs, data.ok, data.failed] as uPlot.AlignedData, el);
      plot.current = u;
      u.over.addEventListener('mousemove', (e) => setHover(dotAt(u, e)));
      u.over.addEventListener('mouseleave', () => setHover(null));
      u.over.addEventListener('click', (e) => {
        const id = dotAt(u, e);
        if (id) onPick(id);
      });
      resize.observe(el);
    });
    return () => {
      gone = true;
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [data, theme]);

  const h = hover ? byId.get(hover) : undefined;
  const failed = traces.filter((t) => t.error_count > 0).length;
  return (
    <figure class="chart scatter" data-points={traces.length}>
      <figcaption>
        <strong>Duration</strong>
        <span class="hint">
          {h
            ? `${h.root_name || '(missing root)'} · ${fmtDuration(h.duration)} · ${fmtTime(h.start)}${h.error_count ? ` · ${h.error_count} errors` : ''}`
            : `${traces.length.toLocaleString()}${more ? ' loaded' : ''} traces${failed ? `, ${failed.toLocaleString()} failed` : ''} · click a dot to open its trace`}
        </span>
      </figcaption>
      <div class="chart-plot scatter-plot" ref={box} aria-hidden="true" style={{ cursor: h ? 'pointer' : 'crosshair' }} />
    </figure>
  );
}
