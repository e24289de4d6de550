import { describe, expect, it } from 'vitest';
import { sparklinePath } from './sparkline';

describe('sparklinePath', () => {
  it('spans the width and scales the peak to the top padding', () => {
    const p = sparklinePath([0, 2, 4, 1], 30, 12, 1);
    expect(p.line).toBe('M0 11 L10 6 L20 1 L30 8.5');
    expect(p.area).toBe('M0 11 L10 6 L20 1 L30 8.5 L30 11 L0 11 Z');
    expect(p.peak).toEqual({ x: 20, y: 1 });
  });

  it('draws a zero series on the baseline, without a peak', () => {
    const p = sparklinePath([0, 0, 0], 20, 10, 2);
    expect(p.line).toBe('M0 8 L10 8 L20 8');
    expect(p.peak).toBeNull();
  });

  it('draws one value as a flat line across the box', () => {
    const p = sparklinePath([5], 40, 10, 0);
    expect(p.line).toBe('M0 0 L40 0');
    expect(p.peak).toEqual({ x: 20, y: 0 });
  });

  it('lifts values above zero off the baseline', () => {
    const p = sparklinePath([0, 1, 100, 0], 30, 22, 1, 4);
    expect(p.line).toBe('M0 21 L10 17 L20 1 L30 21');
  });

  it('is empty for no values', () => {
    expect(sparklinePath([], 40, 10)).toEqual({ line: '', area: '', peak: null });
  });
});
