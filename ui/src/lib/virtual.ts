/**
 * Layout of a virtualised list whose rows are `rowH` tall except the few whose measured height
 * differs (expanded rows): `offsets[i]` is the top of row i, `offsets[n]` the total height.
 */
export function rowOffsets(n: number, rowH: number, heightOf: (i: number) => number | undefined): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) out[i + 1] = out[i] + (heightOf(i) ?? rowH);
  return out;
}

/** The row containing vertical position `y` (clamped to the list). */
export function rowAt(offsets: Float64Array, y: number): number {
  const n = offsets.length - 1;
  if (n <= 0) return 0;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Rows `[first, last)` to render for a viewport, with `overscan` extra rows either side. */
export function visibleRows(offsets: Float64Array, scrollTop: number, viewH: number, overscan: number): [number, number] {
  const n = offsets.length - 1;
  if (n <= 0) return [0, 0];
  const first = Math.max(0, rowAt(offsets, scrollTop) - overscan);
  // The pixel just above the bottom edge: a row starting exactly at the edge is not in view.
  const last = Math.min(n, rowAt(offsets, scrollTop + Math.max(0, viewH - 0.5)) + 1 + overscan);
  return [first, last];
}

/** The scrollTop that brings row i fully into view, or null when it already is. */
export function scrollToRow(offsets: Float64Array, i: number, scrollTop: number, viewH: number): number | null {
  const top = offsets[i];
  const bottom = offsets[i + 1];
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewH) return Math.max(0, Math.min(top, bottom - viewH));
  return null;
}
