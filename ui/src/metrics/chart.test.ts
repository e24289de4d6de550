import { describe, expect, it } from 'vitest';
import type { OtelMetrics, SeriesExemplar } from '../lib/types';
import { exemplarHref, explorerChart, MAX_LINES } from './chart';

const S = 1e9;
const TRACE = 'ab'.repeat(16);
const SPAN = 'cd'.repeat(8);

function answer(series: OtelMetrics['series']): OtelMetrics {
  return { metric: 'latency', type: 'histogram', unit: 'ms', start_ns: 0, end_ns: 180 * S, step_ns: 60 * S, series, series_truncated: false, max_series: 50 };
}

const exemplar: SeriesExemplar = { t: 60 * S, time_unix_nano: 90 * S, value: 420, trace_id: TRACE, span_id: SPAN };
const one = (labels: Record<string, string>, points: (number | null)[][], exemplars: SeriesExemplar[] = [exemplar]) => ({ labels, points, total: 1, count: 3, exemplars });

describe('explorer chart', () => {
  it('lays series on the steps and puts an exemplar at its step, at its value for a percentile', () => {
    const c = explorerChart(answer([one({}, [[0, 100], [60 * S, 400]])]), 'p95');
    expect(c.a.xs).toEqual([0, 60, 120]);
    expect(c.series.map((s) => [s.label, s.values])).toEqual([['all', [100, 400, null]]]);
    expect(c.marks.map((m) => [m.x, m.y])).toEqual([[60, 420]]);
    expect(exemplarHref(c.exemplars[0])).toBe(`/traces/${TRACE}?span=${SPAN}`);
  });

  it('puts an exemplar on its line for a rate, and leaves out those without a trace or a value', () => {
    const noTrace = { ...exemplar, trace_id: null };
    const gap = { ...exemplar, t: 120 * S };
    const c = explorerChart(answer([one({ route: '/a' }, [[60 * S, 2.5]], [exemplar, noTrace, gap])]), 'rate');
    expect(c.marks.map((m) => [m.x, m.y])).toEqual([[60, 2.5]]);
    expect(c.series[0].label).toBe('/a');
  });

  it(`draws at most ${MAX_LINES} lines`, () => {
    const many = Array.from({ length: MAX_LINES + 2 }, (_, i) => one({ route: `/${i}` }, [[0, i]], []));
    expect(explorerChart(answer(many), 'avg').series).toHaveLength(MAX_LINES);
  });
});
