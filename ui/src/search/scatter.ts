import type { TraceRow } from '../lib/types';

/** The scatter plot's data in uPlot's shape: x ascending, one y series for traces without errors and one for failed ones. */
export interface ScatterData {
  /** Trace ids by point index. */
  ids: string[];
  /** Trace starts, seconds (uPlot's time scale). */
  xs: number[];
  /** Durations in ns of traces without errors (null where the trace failed). */
  ok: (number | null)[];
  /** Durations in ns of failed traces (null elsewhere). */
  failed: (number | null)[];
}

/** Durations are drawn on a log scale, which cannot show zero: a 0 ns trace is drawn at 1 ns. */
const LEAST = 1;

export function scatterData(traces: TraceRow[]): ScatterData {
  const rows = [...traces].sort((a, b) => a.start - b.start);
  const y = (t: TraceRow) => Math.max(LEAST, t.duration);
  return {
    ids: rows.map((t) => t.trace_id),
    xs: rows.map((t) => t.start / 1e9),
    ok: rows.map((t) => (t.error_count > 0 ? null : y(t))),
    failed: rows.map((t) => (t.error_count > 0 ? y(t) : null)),
  };
}

/** The index of the point nearest to (x, y) within `radius` (all in px), or null. Points may be null (not drawn). */
export function nearestPoint(points: Array<[number, number] | null>, x: number, y: number, radius: number): number | null {
  let best: number | null = null;
  let bestD = radius * radius;
  points.forEach((p, i) => {
    if (!p) return;
    const d = (p[0] - x) ** 2 + (p[1] - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

/** Ticks of a log duration axis over [min, max] ns: the powers of ten, with 2× and 5× steps too when fewer than two of them show. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max >= min)) return [];
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const within = (steps: number[]) => {
    const out: number[] = [];
    for (let e = lo; e <= hi; e++) for (const m of steps) out.push(m * 10 ** e);
    return out.filter((v) => v >= min && v <= max);
  };
  const decades = within([1]);
  return decades.length >= 2 ? decades : within([1, 2, 5]);
}
