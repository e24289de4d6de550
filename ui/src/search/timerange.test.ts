import { describe, expect, it } from 'vitest';
import { rangeAround, rangeFromParams, rangeParams, withParams } from './timerange';

const NOW = 1_700_000_000_000_000_000;
const MIN = 60e9;

describe('time ranges for links', () => {
  it('picks the smallest sliding preset of an hour or more that covers the span', () => {
    expect(rangeAround(NOW - 10 * MIN, NOW - 9 * MIN, NOW)).toEqual({ range: '1h' });
    expect(rangeAround(NOW - 3 * 60 * MIN, NOW - 2 * 60 * MIN, NOW)).toEqual({ range: '6h' });
    expect(rangeAround(NOW - 3 * 24 * 60 * MIN, NOW - 3 * 24 * 60 * MIN, NOW)).toEqual({ range: '7d' });
  });

  it('falls back to an absolute range a day either side for old data', () => {
    const t = NOW - 30 * 24 * 60 * MIN;
    const r = rangeAround(t, t + MIN, NOW);
    expect(r.range).toBeUndefined();
    expect(Date.parse(r.start) * 1e6).toBeLessThan(t);
    expect(Date.parse(r.end) * 1e6).toBeGreaterThan(t + MIN);
  });

  it('carries presets and absolute ranges, and uses the fallback preset', () => {
    expect(rangeParams(rangeFromParams(new URLSearchParams('range=6h'), NOW))).toEqual({ range: '6h' });
    expect(rangeParams(rangeFromParams(new URLSearchParams('start=2024-05-01T00:00:00.000Z&end=2024-05-02T00:00:00.000Z'), NOW))).toEqual({
      start: '2024-05-01T00:00:00.000Z',
      end: '2024-05-02T00:00:00.000Z',
    });
    expect(rangeFromParams(new URLSearchParams(''), NOW, '24h').preset).toBe('24h');
    expect(rangeFromParams(new URLSearchParams(''), NOW).preset).toBe('1h');
  });

  it('builds links without empty parameters', () => {
    expect(withParams('/logs', { query: 'trace_id:ab', range: '1h', x: '' })).toBe('/logs?query=trace_id%3Aab&range=1h');
    expect(withParams('/errors', {})).toBe('/errors');
  });
});
