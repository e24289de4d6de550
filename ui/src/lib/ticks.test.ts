import { describe, expect, it } from 'vitest';
import { niceStep, niceTicks } from './ticks';

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
