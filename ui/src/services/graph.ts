// Pure helpers of the service map and a service's neighbours: who calls whom, how an edge
// reads, and the colour of a node's error share.
import { fmtDuration } from '../lib/format';
import type { GraphEdge, GraphNode, ServiceGraph } from '../lib/types';
import { fmtRate } from './red';

/** A node next to a service, with the calls between them. */
export interface Neighbour {
  /** `callee`: the service calls it; `caller`: it calls the service. */
  role: 'caller' | 'callee';
  node: GraphNode;
  edge: GraphEdge;
}

/** A service's callers, then its callees, most calls first in each; a call to itself is a callee. */
export function neighbours(graph: ServiceGraph, service: string): Neighbour[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const node = (id: string): GraphNode => byId.get(id) ?? { id, name: id, kind: 'service', count: 0, errors: 0 };
  const callers = graph.edges.filter((e) => e.target === service && e.source !== service).map((edge): Neighbour => ({ role: 'caller', node: node(edge.source), edge }));
  const callees = graph.edges.filter((e) => e.source === service).map((edge): Neighbour => ({ role: 'callee', node: node(edge.target), edge }));
  const most = (a: Neighbour, b: Neighbour) => b.edge.count - a.edge.count || a.node.name.localeCompare(b.node.name);
  return [...callers.sort(most), ...callees.sort(most)];
}

/** An edge's label on the map: calls per second over the range and the callers' p95. */
export function edgeLabel(e: GraphEdge, seconds: number): string {
  return `${fmtRate(e.count / Math.max(seconds, 1e-9))} · p95 ${fmtDuration(e.p95)}`;
}

/** The error share of a node (of its calls, for a peer), 0 to 1. */
export const errorShare = (n: { count: number; errors: number }) => (n.count > 0 ? n.errors / n.count : 0);

/** How a node's error share is coloured: none, some (under 5 %), many. */
export function errorLevel(share: number): 'ok' | 'warn' | 'err' {
  return share <= 0 ? 'ok' : share < 0.05 ? 'warn' : 'err';
}
