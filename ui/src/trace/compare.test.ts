import { describe, expect, it } from 'vitest';
import type { CompareRow } from '../lib/types';
import { alignedTrees } from './Compare';

const side = (start: number, duration: number) => ({ span_index: 0, start_offset_ns: start, duration_ns: duration, self_ns: duration });
const row = (depth: number, name: string, a: boolean, b: boolean): CompareRow => ({
  depth, service: 's', name, presence: a && b ? 'both' : a ? 'missing' : 'added', subtree_root: false,
  a: a ? side(depth * 10, 5) : null, b: b ? side(depth * 20, 7) : null, duration_diff_ns: null, self_diff_ns: null,
});

describe('alignedTrees', () => {
  it('rebuilds the trees from depth-first rows, on B\'s times (A\'s for a span only A has)', () => {
    const tops = alignedTrees([row(0, 'root', true, true), row(1, 'x', true, true), row(2, 'y', true, false), row(1, 'z', false, true), row(0, 'other', true, false)]);
    expect(tops.map((t) => t.row.name)).toEqual(['root', 'other']);
    expect(tops[0].children.map((c) => c.row.name)).toEqual(['x', 'z']);
    expect(tops[0].children[0].children.map((c) => [c.row.name, c.start, c.end])).toEqual([['y', 20, 25]]);
    expect([tops[0].children[1].start, tops[0].children[1].end]).toEqual([20, 27]);
  });
});
