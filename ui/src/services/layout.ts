// The service map's layout: dagre ranks the nodes left to right (callers before callees) and
// routes the edges around them; this module only says how big nodes and labels are.
import type dagreModule from '@dagrejs/dagre';
import type { GraphEdge, GraphNode, ServiceGraph } from '../lib/types';
import { edgeLabel } from './graph';

type Dagre = typeof dagreModule;

export interface Point {
  x: number;
  y: number;
}

/** A node placed: its centre and size. */
export interface PlacedNode {
  node: GraphNode;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** An edge routed: the points of its line and where its label goes. */
export interface PlacedEdge {
  edge: GraphEdge;
  points: Point[];
  label: Point & { text: string; width: number; height: number };
}

export interface MapLayout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export const NODE_HEIGHT = 46;
/** Width of a character of the map's labels (12 px system font), generously. */
const CHAR = 7.2;

const LABEL_HEIGHT = 16;
/** An edge label's width (11 px text). */
const labelWidth = (text: string) => Math.ceil(text.length * CHAR * 0.9) + 8;

/** A node's width: its name or its second line, whichever is longer, plus padding. */
export function nodeWidth(name: string, detail: string): number {
  return Math.max(96, Math.ceil(Math.max(name.length, detail.length) * CHAR) + 28);
}

/** Lays out the map of `graph` over a range of `seconds`; `detail` is a node's second line. */
export function layoutMap(dagre: Dagre, graph: ServiceGraph, seconds: number, detail: (n: GraphNode) => string): MapLayout {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 90, edgesep: 16, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: nodeWidth(n.name, detail(n)), height: NODE_HEIGHT });
  for (const e of graph.edges) {
    if (!g.hasNode(e.source) || !g.hasNode(e.target)) continue;
    g.setEdge(e.source, e.target, { width: labelWidth(edgeLabel(e, seconds)), height: LABEL_HEIGHT, labelpos: 'c' });
  }
  dagre.layout(g);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const nodes = g.nodes().map((id): PlacedNode => {
    const l = g.node(id);
    return { node: byId.get(id)!, x: l.x ?? 0, y: l.y ?? 0, width: l.width, height: l.height };
  });
  const edges = graph.edges
    .filter((e) => g.hasEdge(e.source, e.target))
    .map((e): PlacedEdge => {
      const l = g.edge(e.source, e.target);
      const text = edgeLabel(e, seconds);
      return { edge: e, points: l.points ?? [], label: { x: l.x ?? 0, y: l.y ?? 0, text, width: labelWidth(text), height: LABEL_HEIGHT } };
    });
  const size = g.graph();
  return { nodes, edges, width: size.width ?? 0, height: size.height ?? 0 };
}
