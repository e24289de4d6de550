import { describe, expect, it } from 'vitest';
import { niceStep, niceTicks, timeTicks } from './ticks';

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
