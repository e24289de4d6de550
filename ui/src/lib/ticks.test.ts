import { describe, expect, it } from 'vitest';
import { niceStep, niceTicks, offsetTicks, timeTicks } from './ticks';

describe('ticks', () => {
  it('steps at 1, 2 and 5 times a power of ten', () => {
    expect(niceStep(1000, 5)).toBe(200);
    expect(niceStep(730, 5)).toBe(200);
    expect(niceStep(3.3e9, 6)).toBe(1e9);
    expect(niceStep(0, 5)).toBe(1);
  });
  it('ticks are even and inside the range', () => {
    expect(niceTicks(0, 1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(130, 790, 4)).toEqual([200, 400, 600]);
  });
});

describe('timeTicks', () => {
  it('falls on round times at an even step', () => {
    const m = 60e9;
    const start = Date.UTC(2026, 0, 1, 10, 3, 17) * 1e6;
    const ticks = timeTicks(start, start + 47 * m, 6);
    const steps = new Set(ticks.slice(1).map((t, i) => t - ticks[i]));
    expect([...steps]).toEqual([10 * m]);
    expect(ticks.every((t) => (t / 1e6) % (5 * 60_000) === 0)).toBe(true);
    expect(ticks[0]).toBeGreaterThanOrEqual(start);
    expect(ticks.length).toBeLessThanOrEqual(6);
  });
});

describe('offsetTicks', () => {
  it('steps at round times from a second up, at most about `count` ticks', () => {
    const m = 60e9;
    expect(offsetTicks(47 * m, 4)).toEqual([0, 15 * m, 30 * m, 45 * m]);
    expect(offsetTicks(47 * m, 10)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45].map((x) => x * m));
    expect(offsetTicks(95e9, 2)).toEqual([0, 60e9]);
  });
  it('uses decimal steps under a second', () => {
    expect(offsetTicks(730e6, 4)).toEqual([0, 200e6, 400e6, 600e6]);
  });
});
