import { fmtDuration } from '../lib/format';
import type { CriticalSection, TraceSpan as Span } from '../lib/types';

/** One row of the trace tree: a span, or a marker standing in for a parent that is not in the trace. */
export interface Node {
  span: Span;
  /** Unique in the tree: the span id, with `#2`, `#3`… for further spans with the same id, or `missing:<id>` for a marker. */
  key: string;
  children: Node[];
  parent: Node | null;
  depth: number;
  /** Index in depth-first order (stable row order of the full tree). */
  order: number;
  /** Number of descendants. */
  descendants: number;
  /** True when the span or one of its events reports an error. */
  error: boolean;
  /** Spans with an error among the descendants. */
  errorsBelow: number;
  /** Another span of the trace has the same span id (e.g. Zipkin's shared client/server spans). */
  duplicate: boolean;
  /** A marker for a parent span that is not in the trace: its children are the spans that name it. */
  missing: boolean;
}

export interface TraceTree {
  roots: Node[];
  /** Nodes by key. */
  byId: Map<string, Node>;
  /** The key of each span, by its index in the spans the tree was built from. */
  keys: string[];
  /** All nodes in depth-first order. */
  ordered: Node[];
  start: number;
  end: number;
  services: string[];
  /** Spans in the trace (markers not counted). */
  spanCount: number;
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
  a.span.start_time_unix_nano - b.span.start_time_unix_nano || a.key.localeCompare(b.key);

const node = (span: Span, key: string, extra: Partial<Node> = {}): Node => ({
  span, key, children: [], parent: null, depth: 0, order: 0, descendants: 0, error: isErrorSpan(span), errorsBelow: 0, duplicate: false, missing: false, ...extra,
});

/** A stand-in span for a parent that is not in the trace, covering its children. */
function missingSpan(id: string, children: Span[]): Span {
  const first = children[0];
  const start = Math.min(...children.map((c) => c.start_time_unix_nano));
  const end = Math.max(...children.map((c) => c.end_time_unix_nano));
  return {
    ...first, span_id: id, parent_span_id: null, name: 'missing parent', kind: 'internal', service_name: '', service_version: '', environment: '',
    start_time_unix_nano: start, end_time_unix_nano: end, duration_nanos: end - start, status_code: 'unset', status_message: '', session_id: null,
    attributes: {}, resource_attributes: {}, scope_attributes: {}, events: [], links: [], has_error: false,
  };
}

/**
 * Builds the tree. Every span is kept: spans sharing an id are all shown and marked (a server
 * span sharing its client's id and parent, as Zipkin's shared spans do, goes under the client,
 * and the children of that id under the server); spans whose parent is not in the trace go
 * under a "missing parent" marker; spans in a parent cycle become roots.
 */
export function buildTree(spans: Span[]): TraceTree {
  const byId = new Map<string, Node>();
  const sameId = new Map<string, Node[]>();
  const keys: string[] = [];
  for (const span of spans) {
    const list = sameId.get(span.span_id) ?? [];
    const key = list.length ? `${span.span_id}#${list.length + 1}` : span.span_id;
    keys.push(key);
    const n = node(span, key);
    list.push(n);
    sameId.set(span.span_id, list);
    byId.set(key, n);
  }
  // Which node of an id its children hang under, and which duplicates nest under their twin.
  const parentOfId = new Map<string, Node>();
  const nestedUnder = new Map<Node, Node>();
  for (const [id, list] of sameId) {
    if (list.length > 1) {
      for (const n of list) n.duplicate = true;
      const client = list.find((n) => n.span.kind === 'client');
      const server = list.find((n) => n.span.kind === 'server' && client && n.span.parent_span_id === client.span.parent_span_id);
      if (client && server) {
        nestedUnder.set(server, client);
        parentOfId.set(id, server);
        continue;
      }
    }
    parentOfId.set(id, list[0]);
  }
  const roots: Node[] = [];
  const orphans = new Map<string, Node[]>();
  for (const n of [...byId.values()]) {
    const pid = n.span.parent_span_id;
    const parent = nestedUnder.get(n) ?? (pid ? parentOfId.get(pid) : undefined);
    if (parent && parent !== n) {
      n.parent = parent;
      parent.children.push(n);
    } else if (pid && !parentOfId.has(pid)) {
      const list = orphans.get(pid) ?? [];
      list.push(n);
      orphans.set(pid, list);
    } else {
      roots.push(n);
    }
  }
  for (const [pid, kids] of orphans) {
    const marker = node(missingSpan(pid, kids.map((k) => k.span)), `missing:${pid}`, { missing: true, error: false });
    for (const k of kids) {
      k.parent = marker;
      marker.children.push(k);
    }
    byId.set(marker.key, marker);
    roots.push(marker);
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
    n.errorsBelow = n.children.reduce((acc, c) => acc + (c.error ? 1 : 0) + c.errorsBelow, 0);
  }
  let start = Infinity;
  let end = -Infinity;
  const services = new Set<string>();
  let errorCount = 0;
  let spanCount = 0;
  for (const n of ordered) {
    if (n.missing) continue;
    spanCount++;
    start = Math.min(start, n.span.start_time_unix_nano);
    end = Math.max(end, n.span.end_time_unix_nano);
    services.add(n.span.service_name);
    if (n.error) errorCount++;
  }
  if (!spanCount) {
    start = 0;
    end = 0;
  }
  const root = roots.find((n) => !n.missing)?.span ?? ordered.find((n) => !n.missing)?.span ?? null;
  return { roots, byId, keys, ordered, start, end, services: [...services].sort(), spanCount, errorCount, root };
}

/**
 * Rows to show: depth-first order, skipping descendants of collapsed nodes. With a
 * filter, only matching spans and their ancestors are kept.
 */
export function visibleRows(tree: TraceTree, collapsed: Set<string>, filter?: (n: Node) => boolean): Node[] {
  let keep: Set<Node> | null = null;
  if (filter) {
    keep = new Set();
    for (const n of tree.ordered) {
      if (filter(n)) {
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
    if (collapsed.has(n.key)) i += n.descendants;
  }
  return rows;
}

/** A stretch of a span's time on the critical path. */
export interface Section {
  key: string;
  start: number;
  end: number;
}

/**
 * The critical path the server computed (sections naming spans by their index in the trace's
 * spans) as sections by node key.
 */
export function sectionsByKey(tree: TraceTree, sections: CriticalSection[]): Map<string, Section[]> {
  const out = new Map<string, Section[]>();
  for (const c of sections) {
    const key = tree.keys[c.span_index];
    if (key === undefined) continue;
    const s = { key, start: c.start_unix_nano, end: c.end_unix_nano };
    const list = out.get(key);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  return out;
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
