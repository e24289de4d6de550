import type { Bucket } from '../lib/types';

/** One histogram bar: its time range and a count per series, in series order (drawn bottom-up). */
export interface StackedBucket {
  start: number;
  end: number;
  parts: number[];
}

/** One coloured series of a stacked histogram. */
export interface Series {
  label: string;
  /** CSS class of the bar rects and the legend swatch. */
  cls: string;
}

/** A bar segment: series index, top y and height in a chart `h` units tall scaled to `max`. */
export interface Segment {
  series: number;
  y: number;
  h: number;
}

/**
 * Stacks one bucket's parts bottom-up; empty parts produce no segment. A non-empty part is at
 * least `minH` tall (so that a few errors among many spans stay visible), taken from the
 * tallest segment when the bar would otherwise overflow the chart.
 */
export function stackSegments(parts: number[], max: number, h: number, minH = 0): Segment[] {
  const scale = max > 0 ? h / max : 0;
  const heights = parts.map((n) => (n > 0 ? Math.max(minH, n * scale) : 0));
  const excess = heights.reduce((a, x) => a + x, 0) - h;
  if (excess > 0) {
    const tallest = heights.indexOf(Math.max(...heights));
    heights[tallest] = Math.max(minH, heights[tallest] - excess);
  }
  const out: Segment[] = [];
  let base = h;
  heights.forEach((height, series) => {
    if (height <= 0) return;
    base -= height;
    out.push({ series, y: base, h: height });
  });
  return out;
}

/** Span buckets as two stacked series: errors (bottom) then the rest. */
export function spanStacks(buckets: Bucket[]): StackedBucket[] {
  return buckets.map((b) => ({ start: b.start, end: b.end, parts: [b.error_count, Math.max(0, b.count - b.error_count)] }));
}

/** The series of `spanStacks`. */
export const SPAN_SERIES: Series[] = [
  { label: 'errors', cls: 'bar-err' },
  { label: 'spans', cls: 'bar-ok' },
];

/** The same two series when the histogram counts traces (failed ones first). */
export const TRACE_SERIES: Series[] = [
  { label: 'failed', cls: 'bar-err' },
  { label: 'traces', cls: 'bar-ok' },
];

/**
 * Client-side buckets from loaded rows, used when the server has no histogram endpoint:
 * `series` is the index of each row's series in the stack.
 */
export function localBuckets(rows: Array<{ t: number; series: number }>, seriesCount: number, start: number, end: number, n: number): StackedBucket[] {
  const w = Math.max(1, (end - start) / n);
  const out: StackedBucket[] = Array.from({ length: n }, (_, i) => ({ start: start + i * w, end: start + (i + 1) * w, parts: new Array<number>(seriesCount).fill(0) }));
  for (const { t, series } of rows) {
    const i = Math.floor((t - start) / w);
    if (i < 0 || i >= n || series < 0 || series >= seriesCount) continue;
    out[i].parts[series]++;
  }
  return out;
}
