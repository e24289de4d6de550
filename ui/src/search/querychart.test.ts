import { describe, expect, it } from 'vitest';
import { chartFn, seriesName, splitKeys } from './querychart';

describe('chart functions', () => {
  it('reads the URL, falling back to count', () => {
    expect(chartFn('p95(duration)').label).toBe('p95 duration');
    expect(chartFn('p95(duration)').format(401e6)).toBe('401ms');
    expect(chartFn('error_rate').format(0.1)).toBe('10%');
    expect(chartFn('bogus').fn).toBe('count');
    expect(chartFn(null).empty).toBe(0);
  });
});

describe('series names', () => {
  it('joins the label values in the order of the answer', () => {
    expect(seriesName({ kind: 'server', service_name: 'gateway' })).toBe('server · gateway');
    expect(seriesName({ 'http.route': '' })).toBe('(none)');
    expect(seriesName({})).toBe('all');
  });
  it('splits the keys of the URL', () => {
    expect(splitKeys(' service, http.route ,,')).toEqual(['service', 'http.route']);
    expect(splitKeys(null)).toEqual([]);
  });
});
