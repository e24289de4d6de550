import dagre from '@dagrejs/dagre';
import { describe, expect, it } from 'vitest';
import { testGraph } from './graph.fixture';
import { layoutMap, NODE_HEIGHT, nodeWidth } from './layout';

const graph = testGraph;

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
    expect(map.edges.map((e) => `${e.edge.source}>${e.edge.target}`)).toEqual(['gateway>inventory', 'inventory>database:mysql', 'inventory>inventory']);
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
