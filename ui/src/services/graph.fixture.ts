import type { ServiceGraph } from '../lib/types';

/**
 * A service map for the unit tests: gateway → inventory → MySQL, an inventory call to itself,
 * and a gateway call to a node the answer does not list.
 */
export const testGraph: ServiceGraph = {
  nodes: [
    { id: 'gateway', name: 'gateway', kind: 'service', count: 40, errors: 4 },
    { id: 'inventory', name: 'inventory', kind: 'service', count: 40, errors: 0 },
    { id: 'database:mysql', name: 'mysql', kind: 'database', count: 20, errors: 0 },
  ],
  edges: [
    { source: 'gateway', target: 'inventory', count: 20, errors: 0, p50: 50e6, p95: 50e6 },
    { source: 'gateway', target: 'elsewhere', count: 1, errors: 0, p50: 1e6, p95: 1e6 },
    { source: 'inventory', target: 'database:mysql', count: 20, errors: 1, p50: 25e6, p95: 25e6 },
    { source: 'inventory', target: 'inventory', count: 3, errors: 0, p50: 1e6, p95: 1e6 },
  ],
  join_window_ns: 300e9,
  skew_window_ns: 60e9,
};
