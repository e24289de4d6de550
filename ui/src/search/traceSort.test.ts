import { describe, expect, it } from 'vitest';
import type { TraceRow } from '../lib/types';
import { nextTraceSort, parseTraceSort, sortTraces } from './traceSort';

const row = (trace_id: string, start: number, duration: number, span_count: number, error_count = 0) =>
  ({ trace_id, start, duration, span_count, error_count, root_service: 's', root_name: 'n', services: [], matched_span_ids: [] }) as TraceRow;

describe('traces view order', () => {
  it('reads its orders, newest first by default', () => {
    expect(parseTraceSort(null)).toEqual({ col: 'time', dir: 'desc' });
    expect(parseTraceSort('spans_asc')).toEqual({ col: 'spans', dir: 'asc' });
    expect(parseTraceSort('service_name:asc')).toEqual({ col: 'time', dir: 'desc' });
  });

  it('cycles a header from descending to ascending to the default', () => {
    expect(nextTraceSort(parseTraceSort(null), 'duration')).toBe('duration_desc');
    expect(nextTraceSort(parseTraceSort('duration_desc'), 'duration')).toBe('duration_asc');
    expect(nextTraceSort(parseTraceSort('duration_asc'), 'duration')).toBeNull();
  });

  it('sorts the loaded traces by duration, span count or errors, ties in the given order', () => {
    const rows = [row('a', 3, 50, 4), row('b', 2, 900, 2, 1), row('c', 1, 50, 30)];
    expect(sortTraces(rows, { col: 'duration', dir: 'desc' }).map((t) => t.trace_id)).toEqual(['b', 'a', 'c']);
    expect(sortTraces(rows, { col: 'spans', dir: 'asc' }).map((t) => t.trace_id)).toEqual(['b', 'a', 'c']);
    expect(sortTraces(rows, { col: 'spans', dir: 'desc' }).map((t) => t.trace_id)).toEqual(['c', 'a', 'b']);
    expect(sortTraces(rows, { col: 'errors', dir: 'desc' }).map((t) => t.trace_id)).toEqual(['b', 'a', 'c']);
  });
});
