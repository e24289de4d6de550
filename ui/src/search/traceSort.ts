// The traces view's order (`sort` in the URL: `time_desc`, `duration_asc`, `spans_desc`,
// `errors_desc`…). The server pages traces newest first; like Jaeger's result sorting, the
// other orders sort the traces loaded so far.
import type { TraceRow } from '../lib/types';
import type { SortDir, SortState } from './sort';

const VALUE: Record<string, (t: TraceRow) => number> = {
  time: (t) => t.start,
  duration: (t) => t.duration,
  spans: (t) => t.span_count,
  errors: (t) => t.error_count,
};

/** Columns of the traces view that sort. */
export const TRACE_SORT_COLUMNS = Object.keys(VALUE);

/** The column and direction of a traces view `sort` value (the default is newest first). */
export function parseTraceSort(sort: string | null): SortState {
  const [col, dir] = (sort ?? '').split('_');
  return col in VALUE ? { col, dir: (dir === 'asc' ? 'asc' : 'desc') as SortDir } : { col: 'time', dir: 'desc' };
}

/** A header click: descending, then ascending, then the default order (`null`). */
export function nextTraceSort(current: SortState, col: string): string | null {
  if (current.col !== col) return `${col}_desc`;
  return current.dir === 'desc' ? `${col}_asc` : null;
}

/** The loaded traces in `order`; ties keep the server's order (newest first). */
export function sortTraces(traces: TraceRow[], order: SortState): TraceRow[] {
  const value = VALUE[order.col] ?? VALUE.time;
  const dir = order.dir === 'asc' ? 1 : -1;
  return traces
    .map((t, i) => ({ t, i }))
    .sort((a, b) => (value(a.t) - value(b.t)) * dir || a.i - b.i)
    .map((x) => x.t);
}
