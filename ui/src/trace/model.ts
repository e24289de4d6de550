import { fmtDuration } from '../lib/format';
import type { TraceSpan as Span } from '../lib/types';

/** One span in the trace tree. */
export interface Node {
  span: Span;
  children: Node[];
  parent: Node | null;
  depth: number;
  /** Index in depth-first order (stable row order of the full tree). */
  order: number;
  /** Number of descendants. */
  descendants: number;
  /** True when the span or one of its events reports an error. */
  error: boolean;
}

export interface TraceTree {
  roots: Node[];
  byId: Map<string, Node>;
  /** All nodes in depth-first order. */
  ordered: Node[];
  start: number;
  end: number;
  services: string[];
  errorCount: number;
  /** The root span shown in the header: the earliest span without a parent in the trace. */
  root: Span | null;
}

/** "clock skew adjusted by +1.2ms" for a span the server moved into its parent, else null. */
export function skewNote(s: Span): string | null {
  const shift = s.clock_skew_shift_ns;
  if (!shift) return null;
  return `clock skew adjusted by ${shift > 0 ? '+' : '−'}${fmtDuration(Math.abs(shift))}`;
}

export function isErrorSpan(s: Span): boolean {
  return s.status_code === 'error' || s.has_error === true || s.events.some((e) => e.name === 'exception');
}

const byStart = (a: Node, b: Node) =>
  a.span.start_time_unix_nano - b.span.start_time_unix_nano || a.span.span_id.localeCompare(b.span.span_id);

/** Builds the tree; spans whose parent is missing from the trace become roots. */
export function buildTree(spans: Span[]): TraceTree {
  const byId = new Map<string, Node>();
  for (const span of spans) {
    if (byId.has(span.span_id)) continue;
    byId.set(span.span_id, { span, children: [], parent: null, depth: 0, order: 0, descendants: 0, error: isErrorSpan(span) });
  }
  const roots: Node[] = [];
  for (const node of byId.values()) {
    const pid = node.span.parent_span_id;
    const parent = pid ? byId.get(pid) : undefined;
    if (parent && parent !== node) {
      node.parent = parent;
      parent.children.push(node);
    } else {
      roots.push(node);
    }
  }
  // Guard against cycles: any node not reachable from a root becomes a root.
  const ordered: Node[] = [];
  const seen = new Set<Node>();
  const visit = (root: Node) => {
    const stack: Array<[Node, number]> = [[root, 0]];
    while (stack.length) {
      const [n, depth] = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      n.depth = depth;
      n.order = ordered.length;
      ordered.push(n);
      n.children.sort(byStart);
      for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i], depth + 1]);
    }
  };
  roots.sort(byStart);
  roots.forEach(visit);
  for (const n of byId.values()) {
    if (!seen.has(n)) {
      n.parent?.children.splice(n.parent.children.indexOf(n), 1);
      n.parent = null;
      roots.push(n);
      visit(n);
    }
  }
  for (let i = ordered.length - 1; i >= 0; i--) {
    const n = ordered[i];
    n.descendants = n.children.reduce((acc, c) => acc + 1 + c.descendants, 0);
  }
  let start = Infinity;
  let end = -Infinity;
  const services = new Set<string>();
  let errorCount = 0;
  for (const n of ordered) {
    start = Math.min(start, n.span.start_time_unix_nano);
    end = Math.max(end, n.span.end_time_unix_nano);
    services.add(n.span.service_name);
    if (n.error) errorCount++;
  }
  if (!ordered.length) {
    start = 0;
    end = 0;
  }
  return { roots, byId, ordered, start, end, services: [...services].sort(), errorCount, root: roots[0]?.span ?? null };
}

/**
 * Rows to show: depth-first order, skipping descendants of collapsed nodes. With a
 * filter, only matching spans and their ancestors are kept.
 */
export function visibleRows(tree: TraceTree, collapsed: Set<string>, filter?: (s: Span) => boolean): Node[] {
  let keep: Set<Node> | null = null;
  if (filter) {
    keep = new Set();
    for (const n of tree.ordered) {
      if (filter(n.span)) {
        for (let p: Node | null = n; p && !keep.has(p); p = p.parent) keep.add(p);
      }
    }
  }
  const rows: Node[] = [];
  const ordered = tree.ordered;
  for (let i = 0; i < ordered.length; i++) {
    const n = ordered[i];
    if (keep && !keep.has(n)) continue;
    rows.push(n);
    if (collapsed.has(n.span.span_id)) i += n.descendants;
  }
  return rows;
}

/**
 * The critical path: from each root, the chain of work that determined when it finished.
 * Walking back from a span's end, the child that finished last before the current point
 * is critical, and so on, recursively.
 */
export function criticalPath(tree: TraceTree): Set<string> {
  const out = new Set<string>();
  const walk = (n: Node) => {
    out.add(n.span.span_id);
    const kids = [...n.children].sort((a, b) => b.span.end_time_unix_nano - a.span.end_time_unix_nano);
    let cursor = n.span.end_time_unix_nano;
    for (const c of kids) {
      if (c.span.end_time_unix_nano <= cursor && c.span.end_time_unix_nano > n.span.start_time_unix_nano) {
        walk(c);
        cursor = c.span.start_time_unix_nano;
        if (cursor <= n.span.start_time_unix_nano) break;
      }
    }
  };
  // The root that ends last determines the trace end.
  const last = [...tree.roots].sort((a, b) => b.span.end_time_unix_nano - a.span.end_time_unix_nano)[0];
  if (last) walk(last);
  return out;
}

/** Self time: the part of a span not covered by any of its children. */
export function selfTime(n: Node): number {
  const iv = n.children
    .map((c) => [Math.max(c.span.start_time_unix_nano, n.span.start_time_unix_nano), Math.min(c.span.end_time_unix_nano, n.span.end_time_unix_nano)] as const)
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let curS = -Infinity;
  let curE = -Infinity;
  for (const [s, e] of iv) {
    if (s > curE) {
      if (curE > curS) covered += curE - curS;
      curS = s;
      curE = e;
    } else curE = Math.max(curE, e);
  }
  if (curE > curS) covered += curE - curS;
  return Math.max(0, n.span.duration_nanos - covered);
}

/** Ancestors from the root down to (and including) the node. */
export function pathTo(n: Node): Node[] {
  const out: Node[] = [];
  for (let p: Node | null = n; p; p = p.parent) out.unshift(p);
  return out;
}

/** Case-insensitive match of text against a span's name, service, ids and attribute keys/values. */
export function spanMatches(s: Span, needle: string): boolean {
  const q = needle.toLowerCase();
  if (!q) return false;
  if (s.name.toLowerCase().includes(q) || s.service_name.toLowerCase().includes(q) || s.span_id.includes(q)) return true;
  for (const attrs of [s.attributes, s.resource_attributes]) {
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (k.toLowerCase().includes(q)) return true;
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      if (text.toLowerCase().includes(q)) return true;
    }
  }
  return false;
}
