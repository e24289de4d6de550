import { describe, expect, it } from 'vitest';
import type { Span } from '../lib/types';
import { buildTree, criticalPath, selfTime, spanMatches, visibleRows } from './model';

function span(id: string, parent: string | null, start: number, end: number, extra: Partial<Span> = {}): Span {
  return {
    project_id: 'p', trace_id: 't', span_id: id, parent_span_id: parent, trace_state: '', name: `op ${id}`, kind: 'internal',
    start_time_unix_nano: start, end_time_unix_nano: end, duration_nanos: end - start, status_code: 'unset', status_message: '',
    service_name: 'svc', service_version: '', environment: '', scope_name: '', scope_version: '', scope_attributes: {}, session_id: null,
    attributes: {}, resource_attributes: {}, events: [], links: [], has_error: false,
    dropped_attributes_count: 0, dropped_events_count: 0, dropped_links_count: 0, ...extra,
  };
}

const spans = [
  span('a', null, 0, 100),
  span('c', 'a', 50, 95),
  span('b', 'a', 10, 40, { status_code: 'error', attributes: { 'db.system': 'postgresql' } }),
  span('d', 'c', 60, 90),
  span('o', 'missing', 5, 6),
];

describe('buildTree', () => {
  it('orders depth-first by start time and makes orphans roots', () => {
    const t = buildTree(spans);
    expect(t.ordered.map((n) => n.span.span_id)).toEqual(['a', 'b', 'c', 'd', 'o']);
    expect(t.ordered.map((n) => n.depth)).toEqual([0, 1, 1, 2, 0]);
    expect(t.roots.map((n) => n.span.span_id)).toEqual(['a', 'o']);
    expect(t.root?.span_id).toBe('a');
    expect(t.errorCount).toBe(1);
    expect(t.byId.get('a')!.descendants).toBe(3);
    expect([t.start, t.end]).toEqual([0, 100]);
  });

  it('survives cycles and duplicates', () => {
    const t = buildTree([span('x', 'y', 0, 1), span('y', 'x', 0, 1), span('x', 'y', 0, 1)]);
    expect(t.ordered).toHaveLength(2);
  });
});

describe('visibleRows', () => {
  it('skips descendants of collapsed spans', () => {
    const t = buildTree(spans);
    expect(visibleRows(t, new Set(['c'])).map((n) => n.span.span_id)).toEqual(['a', 'b', 'c', 'o']);
    expect(visibleRows(t, new Set(['a'])).map((n) => n.span.span_id)).toEqual(['a', 'o']);
  });
  it('keeps ancestors of filtered spans', () => {
    const t = buildTree(spans);
    expect(visibleRows(t, new Set(), (s) => s.span_id === 'd').map((n) => n.span.span_id)).toEqual(['a', 'c', 'd']);
  });
});

describe('criticalPath and selfTime', () => {
  it('follows the last-finishing children backwards', () => {
    const t = buildTree(spans);
    expect([...criticalPath(t)].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(selfTime(t.byId.get('a')!)).toBe(100 - 30 - 45);
  });
});

describe('spanMatches', () => {
  it('matches names and attribute values case-insensitively', () => {
    expect(spanMatches(spans[2], 'POSTGRES')).toBe(true);
    expect(spanMatches(spans[2], 'op B')).toBe(true);
    expect(spanMatches(spans[1], 'postgres')).toBe(false);
  });
});
