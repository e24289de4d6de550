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
