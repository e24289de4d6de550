import { describe, expect, it } from 'vitest';
import { rowAt, rowOffsets, scrollToRow, visibleRows } from './virtual';

describe('virtual list layout', () => {
  const expanded = new Map([[2, 100]]);
  const offs = rowOffsets(10, 20, (i) => expanded.get(i));

  it('accumulates row heights, using measured heights where known', () => {
    expect([...offs.slice(0, 5)]).toEqual([0, 20, 40, 140, 160]);
    expect(offs[10]).toBe(9 * 20 + 100);
  });

  it('finds the row at a position, clamped to the list', () => {
    expect(rowAt(offs, 0)).toBe(0);
    expect(rowAt(offs, 39.9)).toBe(1);
    expect(rowAt(offs, 40)).toBe(2);
    expect(rowAt(offs, 139)).toBe(2);
    expect(rowAt(offs, 140)).toBe(3);
    expect(rowAt(offs, 1e9)).toBe(9);
    expect(rowAt(rowOffsets(0, 20, () => undefined), 50)).toBe(0);
  });

  it('renders only the rows in view plus overscan', () => {
    expect(visibleRows(offs, 0, 50, 0)).toEqual([0, 3]);
    expect(visibleRows(offs, 140, 40, 1)).toEqual([2, 6]);
    expect(visibleRows(offs, 0, 1e6, 5)).toEqual([0, 10]);
    const big = rowOffsets(100_000, 28, () => undefined);
    const [a, b] = visibleRows(big, 28 * 50_000, 600, 10);
    expect(a).toBe(49_990);
    expect(b - a).toBeLessThan(60);
  });

  it('scrolls just enough to show a row', () => {
    expect(scrollToRow(offs, 0, 0, 60)).toBeNull();
    expect(scrollToRow(offs, 4, 0, 60)).toBe(120);
    expect(scrollToRow(offs, 1, 100, 60)).toBe(20);
    // A row taller than the view is shown from its top.
    expect(scrollToRow(offs, 2, 0, 60)).toBe(40);
  });
});
