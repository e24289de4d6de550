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

/**
 * The first series of each answer (all over the same range and step) at every step of the
 * range. A step without spans has no point in an answer: `empty` says what it reads as (0 for a
 * rate, null — a gap — for a percentile or an error share).
 */
export function align(answers: SpanMetrics[], empty: (number | null)[]): Aligned {
  const first = answers[0];
  if (!first || first.step_ns <= 0) return { xs: [], ys: answers.map(() => []), ts: [], stepNs: 0 };
  const n = Math.max(0, Math.ceil((first.end_ns - first.start_ns) / first.step_ns));
  const ts = Array.from({ length: n }, (_, i) => first.start_ns + i * first.step_ns);
  const ys = answers.map((a, k) => {
    const row = new Array<number | null>(n).fill(empty[k] ?? null);
    for (const [t, v] of a.series[0]?.points ?? []) {
      const i = Math.floor(((t ?? 0) - first.start_ns) / first.step_ns);
      if (i >= 0 && i < n) row[i] = v;
    }
    return row;
  });
  return { xs: ts.map((t) => t / 1e9), ys, ts, stepNs: first.step_ns };
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
