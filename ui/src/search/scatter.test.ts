import { describe, expect, it } from 'vitest';
import type { TraceRow } from '../lib/types';
import { logTicks, nearestPoint, scatterData } from './scatter';

const row = (trace_id: string, start: number, duration: number, error_count = 0) =>
  ({ trace_id, start, duration, error_count, root_service: 's', root_name: 'n', span_count: 1, services: [], matched_span_ids: [] }) as TraceRow;

describe('scatterData', () => {
  it('orders traces by start and splits failed ones into their own series', () => {
    const d = scatterData([row('b', 3e9, 500), row('a', 1e9, 0), row('c', 2e9, 9e6, 2)]);
    expect(d.ids).toEqual(['a', 'c', 'b']);
    expect(d.xs).toEqual([1, 2, 3]);
    expect(d.ok).toEqual([1, null, 500]);
    expect(d.failed).toEqual([null, 9e6, null]);
  });
});

describe('nearestPoint', () => {
  it('picks the closest drawn point within the radius', () => {
    const pts: Array<[number, number] | null> = [[10, 10], null, [14, 10], [100, 100]];
    expect(nearestPoint(pts, 13, 11, 6)).toBe(2);
    expect(nearestPoint(pts, 9, 9, 6)).toBe(0);
    expect(nearestPoint(pts, 50, 50, 6)).toBeNull();
  });
});

describe('logTicks', () => {
  it('marks decades, and 2× and 5× steps when fewer than two decades show', () => {
    expect(logTicks(3e5, 4e9)).toEqual([1e6, 1e7, 1e8, 1e9]);
    expect(logTicks(5e6, 2e8)).toEqual([1e7, 1e8]);
    expect(logTicks(1.5e6, 3e7)).toEqual([2e6, 5e6, 1e7, 2e7]);
    expect(logTicks(0, 10)).toEqual([]);
  });
});
