import { describe, expect, it } from 'vitest';
import { localBuckets, spanStacks, stackSegments } from './stack';

describe('stacked histogram', () => {
  it('stacks parts bottom-up, skipping empty ones', () => {
    expect(stackSegments([1, 0, 3], 8, 80)).toEqual([
      { series: 0, y: 70, h: 10 },
      { series: 2, y: 40, h: 30 },
    ]);
    expect(stackSegments([0, 0], 0, 80)).toEqual([]);
  });

  it('keeps a few errors among many spans at least minH tall, within the chart', () => {
    // 1 error in a bar of 10,000 spans: 0.011 units unscaled.
    const segs = stackSegments([1, 9_999], 10_000, 110, 2);
    expect(segs[0]).toEqual({ series: 0, y: 108, h: 2 });
    expect(segs[1].y).toBeCloseTo(0);
    expect(segs[0].h + segs[1].h).toBeCloseTo(110);
  });

  it('splits span buckets into errors and the rest', () => {
    expect(spanStacks([{ start: 0, end: 10, count: 5, error_count: 2 }])).toEqual([{ start: 0, end: 10, parts: [2, 3] }]);
  });

  it('counts loaded rows per bucket and series', () => {
    const b = localBuckets(
      [
        { t: 0, series: 1 },
        { t: 5, series: 0 },
        { t: 15, series: 1 },
        { t: 25, series: 0 },
        { t: 5, series: 7 },
      ],
      2,
      0,
      20,
      2,
    );
    expect(b.map((x) => x.parts)).toEqual([
      [1, 1],
      [0, 1],
    ]);
  });
});
