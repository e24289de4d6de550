import dagre from '@dagrejs/dagre';
import { describe, expect, it } from 'vitest';
import type { ServiceGraph } from '../lib/types';
import { layoutMap, NODE_HEIGHT, nodeWidth } from './layout';

const graph: ServiceGraph = {
  nodes: [
    { id: 'gateway', name: 'gateway', kind: 'service', count: 40, errors: 4 },
    { id: 'inventory', name: 'inventory', kind: 'service', count: 40, errors: 0 },
    { id: 'database:mysql', name: 'mysql', kind: 'database', count: 20, errors: 0 },
  ],
  edges: [
    { source: 'gateway', target: 'inventory', count: 20, errors: 0, p50: 50e6, p95: 50e6 },
    { source: 'inventory', target: 'database:mysql', count: 20, errors: 0, p50: 25e6, p95: 25e6 },
    { source: 'gateway', target: 'elsewhere', count: 1, errors: 0, p50: 1e6, p95: 1e6 },
  ],
  join_window_ns: 300e9,
  skew_window_ns: 60e9,
};

describe('layoutMap', () => {
  const map = layoutMap(dagre, graph, 3600, (n) => `${n.count} spans`);
  const at = (id: string) => map.nodes.find((n) => n.node.id === id)!;
  it('places callers left of their callees, inside the drawing', () => {
    expect(at('gateway').x).toBeLessThan(at('inventory').x);
    expect(at('inventory').x).toBeLessThan(at('database:mysql').x);
    for (const n of map.nodes) {
      expect(n.x - n.width / 2).toBeGreaterThanOrEqual(0);
      expect(n.x + n.width / 2).toBeLessThanOrEqual(map.width);
      expect(n.height).toBe(NODE_HEIGHT);
    }
  });
  it('routes each edge between known nodes from its caller to its callee, with its label', () => {
    expect(map.edges.map((e) => `${e.edge.source}>${e.edge.target}`)).toEqual(['gateway>inventory', 'inventory>database:mysql']);
    const e = map.edges[0];
    expect(e.points[0].x).toBeLessThan(e.points.at(-1)!.x);
    expect(e.label.text).toBe('20/h · p95 50ms');
    expect(e.label.x).toBeGreaterThan(at('gateway').x);
    expect(e.label.x).toBeLessThan(at('inventory').x);
  });
  it('sizes a node for its longer line', () => {
    expect(nodeWidth('a', 'b')).toBe(96);
    expect(nodeWidth('a-rather-long-service-name', 'x')).toBeGreaterThan(nodeWidth('short', 'x'));
  });
});
