// Pure helpers of the service page's charts: span metrics answers laid on one time axis, and
// the traces search a point of a chart opens.
import { queryValue } from '../lib/format';
import type { SpanMetrics } from '../lib/types';
import { iso, withParams } from '../search/timerange';

/** Series on one axis: step starts in seconds (uPlot's time unit) and a value or null per step. */
export interface Aligned {
  xs: number[];
  ys: (number | null)[][];
  /** Start of each step, ns. */
  ts: number[];
  stepNs: number;
}

/** An answer of series over steps: the span metrics', or an OTLP metric's. */
export interface Stepped {
  start_ns: number;
  end_ns: number;
  step_ns: number;
  series: { points: (number | null)[][] }[];
}

/** The steps of an answer's range: their starts in ns and in seconds. */
function steps(a: Stepped | undefined): { ts: number[]; xs: number[]; stepNs: number } {
  if (!a || a.step_ns <= 0) return { ts: [], xs: [], stepNs: 0 };
  const n = Math.max(0, Math.ceil((a.end_ns - a.start_ns) / a.step_ns));
  const ts = Array.from({ length: n }, (_, i) => a.start_ns + i * a.step_ns);
  return { ts, xs: ts.map((t) => t / 1e9), stepNs: a.step_ns };
}

/** A series' value at every step of `a`'s range, `empty` where it has no point. */
function row(a: Stepped, s: Stepped['series'][number] | undefined, empty: number | null, n: number): (number | null)[] {
  const values = new Array<number | null>(n).fill(empty);
  for (const [t, v] of s?.points ?? []) {
    const i = Math.floor(((t ?? 0) - a.start_ns) / a.step_ns);
    if (i >= 0 && i < n) values[i] = v;
  }
  return values;
}

/**
 * The first series of each answer (all over the same range and step) at every step of the
 * range. A step without spans has no point in an answer: `empty` says what it reads as (0 for a
 * rate, null — a gap — for a percentile or an error share).
 */
export function align(answers: SpanMetrics[], empty: (number | null)[]): Aligned {
  const grid = steps(answers[0]);
  return { ...grid, ys: answers.map((a, k) => row(a, a.series[0], empty[k] ?? null, grid.ts.length)) };
}

/** Every series of one answer at every step of its range (see `align`). */
export function alignSeries(a: Stepped, empty: number | null): Aligned {
  const grid = steps(a);
  return { ...grid, ys: a.series.map((s) => row(a, s, empty, grid.ts.length)) };
}

/** What a click on a chart asks for: all spans of the step, its failed ones, or its slow ones. */
export type Pick = { kind: 'all' } | { kind: 'errors' } | { kind: 'slow'; atLeastNs: number };

/**
 * A duration bound for the query language that no span at or above `ns` misses although `ns`
 * came from a sketch: 1 % lower (its stated error), in whole ms from 10 ms up, else in µs.
 */
export function durationAtLeast(ns: number): string {
  const low = ns * 0.99;
  return low >= 10e6 ? `${Math.floor(low / 1e6)}ms` : `${Math.floor(low / 1e3)}us`;
}

/** The traces search over one step of a chart, prefiltered to the service (and the slow or failed spans). */
export function stepSearchHref(service: string, tNs: number, stepNs: number, pick: Pick, environment = ''): string {
  const terms = [`service_name:${queryValue(service)}`];
  if (environment) terms.push(`environment:${queryValue(environment)}`);
  if (pick.kind === 'errors') terms.push('status_code:error');
  if (pick.kind === 'slow') terms.push(`duration>=${durationAtLeast(pick.atLeastNs)}`);
  return withParams('/', { query: terms.join(' '), start: iso(tNs), end: iso(tNs + stepNs), sort: pick.kind === 'slow' ? 'duration_desc' : null });
}

/** The last step where some line has a value (what a chart's legend shows while the cursor is away), else the last step. */
export function latestStep(lines: { values: (number | null)[] }[], steps: number): number {
  for (let i = steps - 1; i >= 0; i--) if (lines.some((l) => l.values[i] !== null && l.values[i] !== undefined)) return i;
  return steps - 1;
}
