import { describe, expect, it } from 'vitest';
import type { ErrorOccurrence, LogRecord, TraceRow } from '../lib/types';
import { binByTime, layoutTimeline, MIN_BAR } from './timeline';

const trace = (id: string, start: number, duration: number): TraceRow => ({
  trace_id: id,
  root_service: 'web',
  root_name: `GET /${id}`,
  start,
  duration,
  span_count: 1,
  error_count: 0,
  services: ['web'],
  matched_span_ids: [],
});
const log = (t: number, level: LogRecord['level']): LogRecord => ({
  log_id: `l${t}${level}`,
  project_id: 'p',
  time_unix_nano: t,
  observed_time_unix_nano: t,
  severity_number: 9,
  severity_text: level,
  level,
  body: `at ${t}`,
  trace_id: null,
  span_id: null,
  service_name: 'web',
  service_version: '',
  environment: '',
  scope_name: '',
  session_id: 's',
  attributes: {},
  resource_attributes: {},
  flags: 0,
  dropped_attributes_count: 0,
});
const err = (t: number): ErrorOccurrence => ({
  project_id: 'p',
  time_unix_nano: t,
  fingerprint: 'f',
  type: 'E',
  message: 'm',
  stacktrace: '',
  service_name: 'web',
  service_version: '',
  environment: '',
  trace_id: null,
  span_id: null,
  session_id: 's',
  source: 'log',
});

describe('session timeline layout', () => {
  it('puts the label of a narrow bar beside it and keeps that room free in its lane', () => {
    // Three 1 ms requests over a second; a label needs 30% of the axis.
    const t = layoutTimeline([trace('a', 0, 1e6), trace('b', 100e6, 1e6), trace('c', 999e6, 1e6)], [], [], 240, 0.3);
    const by = Object.fromEntries(t.bars.map((b) => [b.trace.trace_id, b]));
    expect(by.a.labelAt).toBeCloseTo(by.a.left + by.a.width);
    expect(by.b.lane).not.toBe(by.a.lane);
    // At the end of the axis the label goes before the bar.
    expect(by.c.labelAt).toBeCloseTo(by.c.left - 0.3);
    expect(by.c.lane).toBe(0);
    // A bar wide enough for its label keeps it inside.
    expect(layoutTimeline([trace('w', 0, 1e9)], [], [], 240, 0.3).bars[0].labelAt).toBe(null);
  });


  it('packs overlapping traces into separate lanes and reuses free lanes', () => {
    const t = layoutTimeline([trace('c', 600e6, 400e6), trace('a', 0, 500e6), trace('b', 100e6, 200e6), trace('d', 350e6, 100e6)], [], []);
    expect(t.start).toBe(0);
    expect(t.end).toBe(1000e6);
    const lanes = Object.fromEntries(t.bars.map((b) => [b.trace.trace_id, b.lane]));
    expect(t.lanes).toBe(2);
    expect(lanes).toEqual({ a: 0, b: 1, d: 1, c: 0 });
  });

  it('positions bars as fractions of the whole extent, including logs and errors', () => {
    const t = layoutTimeline([trace('a', 2_000_000, 1_000_000)], [err(4_000_000)], [log(0, 'info')]);
    expect(t.start).toBe(0);
    expect(t.end).toBe(4_000_000);
    expect(t.bars[0].left).toBeCloseTo(0.5);
    expect(t.bars[0].width).toBeCloseTo(0.25);
    expect(t.errors).toHaveLength(1);
    expect(t.errors[0].left).toBeGreaterThan(0.99);
  });

  it('keeps tiny traces visible and gives an instant a readable axis', () => {
    expect(layoutTimeline([trace('x', 5, 0)], [], []).end).toBe(5 + 1e6);
    const t = layoutTimeline([trace('a', 0, 1), trace('b', 0, 10_000_000)], [], []);
    expect(t.bars.find((b) => b.trace.trace_id === 'a')!.width).toBe(MIN_BAR);
  });

  it('gives each level present its own row, most severe first, with logs binned', () => {
    const logs = [log(0, 'info'), log(1, 'info'), log(5_000_000, 'error'), log(10_000_000, 'debug')];
    const t = layoutTimeline([], [], logs, 10);
    expect(t.logRows.map((r) => r.level)).toEqual(['error', 'info', 'debug']);
    const info = t.logRows[1].bins;
    expect(info).toHaveLength(1);
    expect(info[0].count).toBe(2);
    expect(info[0].first.body).toBe('at 0');
  });

  it('bins thousands of items into at most n marks', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    const bins = binByTime(items, (x) => x, 0, 9_999, 50);
    expect(bins).toHaveLength(50);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(10_000);
    expect(bins.map((b) => b.left)).toEqual([...bins.map((b) => b.left)].sort((a, b) => a - b));
  });
});
