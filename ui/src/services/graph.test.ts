import { describe, expect, it } from 'vitest';
import type { ServiceGraph } from '../lib/types';
import { edgeLabel, errorLevel, errorShare, neighbours } from './graph';

const graph: ServiceGraph = {
  nodes: [
    { id: 'gateway', name: 'gateway', kind: 'service', count: 40, errors: 4 },
    { id: 'inventory', name: 'inventory', kind: 'service', count: 40, errors: 0 },
    { id: 'database:mysql', name: 'mysql', kind: 'database', count: 20, errors: 0 },
  ],
  edges: [
    { source: 'gateway', target: 'inventory', count: 20, errors: 0, p50: 50e6, p95: 50e6 },
    { source: 'inventory', target: 'database:mysql', count: 20, errors: 1, p50: 25e6, p95: 25e6 },
    { source: 'inventory', target: 'inventory', count: 3, errors: 0, p50: 1e6, p95: 1e6 },
  ],
  join_window_ns: 300e9,
  skew_window_ns: 60e9,
};

describe('neighbours', () => {
  it('lists callers first, then callees by calls, a self call once as a callee', () => {
    const rows = neighbours(graph, 'inventory').map((r) => `${r.role}:${r.node.id}:${r.edge.count}`);
    expect(rows).toEqual(['caller:gateway:20', 'callee:database:mysql:20', 'callee:inventory:3']);
  });
  it('names a node missing from the list by its id', () => {
    const g = { ...graph, nodes: [] };
    expect(neighbours(g, 'gateway')[0].node).toEqual({ id: 'inventory', name: 'inventory', kind: 'service', count: 0, errors: 0 });
  });
});

describe('edges and nodes', () => {
  it('labels an edge with its rate and p95', () => {
    expect(edgeLabel(graph.edges[0], 3600)).toBe('20/h · p95 50ms');
  });
  it('grades error shares', () => {
    expect(errorLevel(errorShare({ count: 40, errors: 0 }))).toBe('ok');
    expect(errorLevel(errorShare({ count: 40, errors: 1 }))).toBe('warn');
    expect(errorLevel(errorShare({ count: 40, errors: 4 }))).toBe('err');
    expect(errorShare({ count: 0, errors: 0 })).toBe(0);
  });
});
