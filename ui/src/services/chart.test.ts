import { describe, expect, it } from 'vitest';
import type { SpanMetrics } from '../lib/types';
import { align, alignSeries, durationAtLeast, latestStep, stepSearchHref } from './chart';

const answer = (points: [number, number | null][]): SpanMetrics => ({
  fn: 'rate',
  start_ns: 1000,
  end_ns: 1500,
  step_ns: 100,
  series: [{ labels: {}, points, count: points.length }],
  series_truncated: false,
  max_series: 50,
  max_points: 1440,
  source: 'sketches',
  max_scan_spans: 100000,
});

describe('align', () => {
  it('puts every answer on the steps of the range, filling steps without spans', () => {
    const a = align([answer([[1000, 2], [1300, 5]]), answer([[1300, 0.5]])], [0, null]);
    expect(a.ts).toEqual([1000, 1100, 1200, 1300, 1400]);
    expect(a.xs).toEqual([1e-6, 1.1e-6, 1.2e-6, 1.3e-6, 1.4e-6]);
    expect(a.ys).toEqual([
      [2, 0, 0, 5, 0],
      [null, null, null, 0.5, null],
    ]);
  });
  it('is empty when an answer has no series', () => {
    const a = align([{ ...answer([]), series: [] }], [0]);
    expect(a.ys).toEqual([[0, 0, 0, 0, 0]]);
  });
});

describe('alignSeries', () => {
  it('puts every series of one answer on its steps', () => {
    const a = answer([[1100, 1]]);
    a.series.push({ labels: { service: 'b' }, points: [[1400, 7]], count: 7 });
    expect(alignSeries(a, null).ys).toEqual([
      [null, 1, null, null, null],
      [null, null, null, null, 7],
    ]);
  });
});

describe('durationAtLeast', () => {
  it('lowers the bound by the sketch error', () => {
    expect(durationAtLeast(401e6)).toBe('396ms');
    expect(durationAtLeast(400e6)).toBe('396ms');
    expect(durationAtLeast(2.5e6)).toBe('2475us');
  });
});

describe('stepSearchHref', () => {
  const t = Date.UTC(2026, 0, 2, 3, 4) * 1e6;
  it('opens the slow spans of the step, slowest first', () => {
    const href = new URL(stepSearchHref('gate way', t, 60e9, { kind: 'slow', atLeastNs: 400e6 }), 'http://x');
    expect(href.pathname).toBe('/');
    expect(href.searchParams.get('query')).toBe('service_name:"gate way" duration>=396ms');
    expect(href.searchParams.get('start')).toBe('2026-01-02T03:04:00.000Z');
    expect(href.searchParams.get('end')).toBe('2026-01-02T03:05:00.000Z');
    expect(href.searchParams.get('sort')).toBe('duration_desc');
  });
  it('opens the failed spans of an environment', () => {
    const href = new URL(stepSearchHref('gateway', t, 60e9, { kind: 'errors' }, 'prod'), 'http://x');
    expect(href.searchParams.get('query')).toBe('service_name:gateway environment:prod status_code:error');
    expect(href.searchParams.get('sort')).toBeNull();
  });
});

describe('latestStep', () => {
  it('is the last step where a line has a value, else the last step', () => {
    expect(latestStep([{ values: [1, null, null] }, { values: [null, 2, null] }], 3)).toBe(1);
    expect(latestStep([{ values: [null, null] }], 2)).toBe(1);
    expect(latestStep([], 0)).toBe(-1);
  });
});
