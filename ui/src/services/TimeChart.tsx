import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { cssVar, loadUPlot, useTheme } from '../lib/uplot';
import { latestStep } from './chart';

/** One line of a chart: its name, a colour (a CSS variable such as `--ok`, or a CSS colour) and a value or null per step. */
export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

/** A dot over the lines (an exemplar): where it sits (x in seconds, y in the chart's values), its colour and what it says. */
export interface ChartMark {
  x: number;
  y: number;
  color: string;
  title: string;
}

interface Props {
  title: string;
  /** Step starts, seconds. */
  xs: number[];
  series: ChartSeries[];
  /** How a value reads (axis and legend). */
  format: (v: number) => string;
  /** How an axis tick reads and what the axis is labelled, when they differ from `format` (a unit said once beside the axis). */
  axis?: { format: (v: number) => string; label: string };
  /** What a click on a step opens, said in the hint ("the traces of its step"). */
  pickHint: string;
  onPick: (i: number) => void;
  /** Dots drawn over the lines; a click within a few pixels of one calls `onMark` with its index instead of `onPick`. */
  marks?: ChartMark[];
  onMark?: (i: number) => void;
  height?: number;
}

const HEIGHT = 170;
/** Radius of a mark and how far from it a click still hits it, CSS px. */
const MARK_R = 4;
const MARK_HIT = 8;

/** A series colour on the canvas and in CSS. */
const paint = (c: string) => (c.startsWith('--') ? cssVar(c) : c);
const cssColor = (c: string) => (c.startsWith('--') ? `var(${c})` : c);

/** The marks' positions in CSS px over the plot, written to `data-marks` (`x,y` pairs) as they are drawn. */
function markPositions(u: uPlot, marks: ChartMark[]): [number, number][] {
  return marks.map((m) => [u.valToPos(m.x, 'x'), u.valToPos(m.y, 'y')]);
}

/** Draws the marks as ringed dots on the canvas. */
function drawMarks(u: uPlot, marks: ChartMark[], el: HTMLElement) {
  const r = MARK_R * devicePixelRatio;
  const ctx = u.ctx;
  ctx.save();
  ctx.lineWidth = 1.5 * devicePixelRatio;
  ctx.strokeStyle = cssVar('--bg');
  for (const m of marks) {
    ctx.beginPath();
    ctx.arc(u.valToPos(m.x, 'x', true), u.valToPos(m.y, 'y', true), r, 0, 2 * Math.PI);
    ctx.fillStyle = paint(m.color);
    ctx.fill();
    ctx.stroke();
  }
  ctx.restore();
  el.dataset.marks = markPositions(u, marks).map(([x, y]) => `${Math.round(x)},${Math.round(y)}`).join(' ');
}

/** The mark within reach of a click at the cursor, if any. */
function markAt(u: uPlot, marks: ChartMark[]): number | null {
  const { left = -1, top = -1 } = u.cursor;
  const distances = markPositions(u, marks).map(([x, y]) => Math.hypot(x - left, y - top));
  const nearest = distances.indexOf(Math.min(...distances));
  return nearest >= 0 && distances[nearest] <= MARK_HIT ? nearest : null;
}

function options(p: Props, width: number, el: HTMLElement, onHover: (i: number | null) => void): uPlot.Options {
  const grid = { stroke: cssVar('--border'), width: 1 };
  const axis = { stroke: cssVar('--muted'), grid, ticks: grid, font: '11px system-ui, sans-serif' };
  const marks = p.marks ?? [];
  const top = Math.max(0, ...marks.map((m) => m.y));
  return {
    width,
    height: p.height ?? HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, top) > 0 ? Math.max(max, top) * 1.1 : 1] } },
    axes: [axis, { ...axis, size: 64, values: (_u, splits) => splits.map(p.axis?.format ?? p.format), ...(p.axis?.label ? { label: p.axis.label, labelSize: 18, labelFont: axis.font } : {}) }],
    series: [{}, ...p.series.map((s) => ({ label: s.label, stroke: paint(s.color), width: 1.5, spanGaps: false, points: { show: true, size: 4, fill: paint(s.color) } }))],
    hooks: { setCursor: [(u) => onHover(u.cursor.idx ?? null)], draw: marks.length ? [(u) => drawMarks(u, marks, el)] : [] },
  };
}

/**
 * A time chart drawn by uPlot: lines per series over the steps (with a dot at each step, so a
 * lone step between gaps shows), a legend that follows the
 * cursor, and a click on a step calls `onPick` with its index. Redrawn on a theme change.
 */
export function TimeChart(p: Props) {
  const box = useRef<HTMLDivElement>(null);
  const pick = useRef(p.onPick);
  pick.current = p.onPick;
  const mark = useRef(p.onMark);
  mark.current = p.onMark;
  const [hover, setHover] = useState<number | null>(null);
  const theme = useTheme();

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let chart: uPlot | null = null;
    let gone = false;
    const resize = new ResizeObserver(() => chart?.setSize({ width: el.clientWidth, height: p.height ?? HEIGHT }));
    loadUPlot().then((UPlot) => {
      if (gone) return;
      chart = new UPlot(options(p, el.clientWidth, el, setHover), [p.xs, ...p.series.map((s) => s.values)] as uPlot.AlignedData, el);
      chart.over.addEventListener('click', () => {
        if (!chart) return;
        const m = p.marks && p.onMark ? markAt(chart, p.marks) : null;
        if (m !== null) return mark.current?.(m);
        const i = chart.cursor.idx;
        if (i !== null && i !== undefined) pick.current(i);
      });
      resize.observe(el);
    });
    return () => {
      gone = true;
      resize.disconnect();
      chart?.destroy();
    };
  }, [p.xs, p.series, p.marks, theme]);

  const at = hover ?? latestStep(p.series, p.xs.length);
  return (
    <figure class="chart" data-start={p.xs[0]} data-end={p.xs.at(-1)} data-steps={p.xs.length}>
      <figcaption>
        <strong>{p.title}</strong>
        <span class="chart-legend">
          {p.series.map((s) => {
            const v = s.values[at];
            return (
              <span key={s.label} class="chart-key">
                <i class="swatch" style={{ background: cssColor(s.color) }} />
                {s.label}{' '}
                <span class="mono" data-value={v ?? ''}>
                  {v === null || v === undefined ? '–' : p.format(v)}
                </span>
              </span>
            );
          })}
        </span>
      </figcaption>
      <div class="chart-plot" ref={box} aria-hidden="true" style={p.height ? { minHeight: `${p.height}px` } : undefined} title={`Click a point: ${p.pickHint}${p.marks?.length ? '; a ringed dot: its trace' : ''}`} />
    </figure>
  );
}
