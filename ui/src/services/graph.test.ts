import { describe, expect, it } from 'vitest';
import { testGraph } from './graph.fixture';
import { edgeLabel, errorLevel, errorShare, neighbours } from './graph';

const graph = testGraph;

describe('neighbours', () => {
  it('lists callers first, then callees by calls, a self call once as a callee', () => {
    const rows = neighbours(graph, 'inventory').map((r) => `${r.role}:${r.node.id}:${r.edge.count}`);
    expect(rows).toEqual(['caller:gateway:20', 'callee:database:mysql:20', 'callee:inventory:3']);
  });
  it('names a node missing from the list by its id', () => {
    const g = { ...graph, nodes: [] };
    expect(neighbours(g, 'gateway').map((r) => r.node.id)).toEqual(['inventory', 'elsewhere']);
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
