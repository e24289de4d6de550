import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { cssVar, loadUPlot, useTheme } from '../lib/uplot';

/** One line of a chart: its name, a colour (a CSS variable such as `--ok`, or a CSS colour) and a value or null per step. */
export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

interface Props {
  title: string;
  /** Step starts, seconds. */
  xs: number[];
  series: ChartSeries[];
  /** How a value reads (axis and legend). */
  format: (v: number) => string;
  /** What a click on a step opens, said in the hint ("the traces of its step"). */
  pickHint: string;
  onPick: (i: number) => void;
}

const HEIGHT = 170;

/** A series colour on the canvas and in CSS. */
const paint = (c: string) => (c.startsWith('--') ? cssVar(c) : c);
const cssColor = (c: string) => (c.startsWith('--') ? `var(${c})` : c);

function options(p: Props, width: number, onHover: (i: number | null) => void): uPlot.Options {
  const grid = { stroke: cssVar('--border'), width: 1 };
  const axis = { stroke: cssVar('--muted'), grid, ticks: grid, font: '11px system-ui, sans-serif' };
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [axis, { ...axis, size: 64, values: (_u, splits) => splits.map(p.format) }],
    series: [{}, ...p.series.map((s) => ({ label: s.label, stroke: paint(s.color), width: 1.5, spanGaps: false, points: { show: true, size: 4, fill: paint(s.color) } }))],
    hooks: { setCursor: [(u) => onHover(u.cursor.idx ?? null)] },
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
  const [hover, setHover] = useState<number | null>(null);
  const theme = useTheme();

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let chart: uPlot | null = null;
    let gone = false;
    const resize = new ResizeObserver(() => chart?.setSize({ width: el.clientWidth, height: HEIGHT }));
    loadUPlot().then((UPlot) => {
      if (gone) return;
      chart = new UPlot(options(p, el.clientWidth, setHover), [p.xs, ...p.series.map((s) => s.values)] as uPlot.AlignedData, el);
      chart.over.addEventListener('click', () => {
        const i = chart?.cursor.idx;
        if (i !== null && i !== undefined) pick.current(i);
      });
      resize.observe(el);
    });
    return () => {
      gone = true;
      resize.disconnect();
      chart?.destroy();
    };
  }, [p.xs, p.series, theme]);

  const at = hover ?? p.xs.length - 1;
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
      <div class="chart-plot" ref={box} aria-hidden="true" title={`Click a point: ${p.pickHint}`} />
    </figure>
  );
}
