import type { Node } from './model';

/** Where a box sits in the flame graph: its row (0 = the top). */
export interface FlameBox<T = Node> {
  node: T;
  row: number;
}

/** How the layout reads a tree: a box's time and its children. */
export interface FlameTree<T> {
  time: (n: T) => [number, number];
  children: (n: T) => T[];
}

/** The trace tree's spans as boxes. */
export const spanTree: FlameTree<Node> = {
  time: (n) => [n.span.start_time_unix_nano, n.span.end_time_unix_nano],
  children: (n) => n.children,
};

/**
 * Lays subtrees (the roots, or the span zoomed into) out in rows: a span goes in the first row
 * below its parent where its time is free, so children that overlap in time (concurrent calls)
 * get lanes of their own instead of being drawn on top of each other, while sequential ones
 * share a row. Subtrees are placed depth-first, children in start order.
 */
export function flameLayout<T>(tops: T[], tree: FlameTree<T>, keep: (n: T) => boolean = () => true): { boxes: Array<FlameBox<T>>; rows: number } {
  // Per row, the intervals taken, disjoint and sorted by start.
  const taken: Array<Array<[number, number]>> = [];
  /** Index of the first interval of `list` that starts at or after `a`. */
  const after = (list: Array<[number, number]>, a: number) => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid][0] < a) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const free = (row: number, a: number, b: number) => {
    const list = taken[row];
    if (!list) return true;
    const i = after(list, a);
    return !(i > 0 && list[i - 1][1] > a) && !(i < list.length && list[i][0] < b);
  };
  const take = (row: number, a: number, b: number) => {
    const list = (taken[row] ??= []);
    list.splice(after(list, a), 0, [a, b]);
  };
  const boxes: Array<FlameBox<T>> = [];
  const place = (n: T, from: number) => {
    const [a, end] = tree.time(n);
    const b = Math.max(end, a + 1);
    let row = from;
    while (!free(row, a, b)) row++;
    take(row, a, b);
    boxes.push({ node: n, row });
    for (const c of tree.children(n)) if (keep(c)) place(c, row + 1);
  };
  for (const top of tops) place(top, 0);
  return { boxes, rows: taken.length };
}

/** A time window of the flame graph, ns: [start, end). */
export type Window = [number, number];

/** The narrowest window a zoom reaches, ns (a box of 1 µs fills the graph). */
const MIN_WINDOW = 1_000;

/** `w` moved inside `bounds` without changing its width (shrunk to them when wider). */
function clampWindow([a, b]: Window, [lo, hi]: Window): Window {
  const width = Math.min(b - a, hi - lo);
  const start = Math.min(Math.max(a, lo), hi - width);
  return [start, start + width];
}

/**
 * The window after zooming `w` by `factor` (below 1 zooms in) around the point at `at` (0 = its
 * left edge, 1 = its right edge), which stays where it is on screen; kept inside `bounds`.
 */
export function zoomWindow(w: Window, bounds: Window, factor: number, at = 0.5): Window {
  const [a, b] = w;
  const width = Math.min(bounds[1] - bounds[0], Math.max(MIN_WINDOW, (b - a) * factor));
  const pivot = a + (b - a) * at;
  return clampWindow([pivot - width * at, pivot - width * at + width], bounds);
}

/** The window moved by `by` of its width (negative: to the left), kept inside `bounds`. */
export function panWindow(w: Window, bounds: Window, by: number): Window {
  const shift = (w[1] - w[0]) * by;
  return clampWindow([w[0] + shift, w[1] + shift], bounds);
}
