import { describe, expect, it } from 'vitest';
import { fmtPercent, fmtRate, sortOf, sparkValues } from './red';

describe('fmtRate', () => {
  it('picks the unit that gives a number of at least one', () => {
    expect(fmtRate(12.345)).toBe('12.3/s');
    expect(fmtRate(1)).toBe('1/s');
    expect(fmtRate(0.5)).toBe('30/min');
    expect(fmtRate(24 / 3660)).toBe('23.6/h');
    expect(fmtRate(0)).toBe('0/s');
  });
});

describe('fmtPercent', () => {
  it('shows small fractions with two decimals and large ones rounded', () => {
    expect(fmtPercent(0)).toBe('0%');
    expect(fmtPercent(0.0005)).toBe('0.05%');
    expect(fmtPercent(7 / 13)).toBe('53.8%');
    expect(fmtPercent(1)).toBe('100%');
  });
});

describe('sparkValues', () => {
  const pt = (t: number, count: number) => ({ t, count, errors: 0, p95: 0 });
  it('fills the steps without spans with zeros', () => {
    expect(sparkValues([pt(100, 3), pt(130, 5)], 100, 160, 10, (p) => p.count)).toEqual([3, 0, 0, 5, 0, 0]);
  });
  it('counts a last partial step and ignores points outside the range', () => {
    expect(sparkValues([pt(90, 9), pt(120, 2), pt(125, 4)], 100, 125, 10, (p) => p.count)).toEqual([0, 0, 2]);
  });
  it('is empty for an empty range', () => {
    expect(sparkValues([pt(100, 3)], 100, 100, 10, (p) => p.count)).toEqual([]);
  });
});

describe('sortOf', () => {
  it('reads a known order and falls back to rate', () => {
    expect(sortOf(new URLSearchParams('sort=p99'))).toBe('p99');
    expect(sortOf(new URLSearchParams('sort=bogus'))).toBe('rate');
    expect(sortOf(new URLSearchParams(''))).toBe('rate');
  });
});
