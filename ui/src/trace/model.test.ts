import { describe, expect, it } from 'vitest';
import type { Span } from '../lib/types';
import { buildTree, sectionsByKey, spanMatches, visibleRows } from './model';


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
  it('orders depth-first by start time and puts orphans under a missing-parent marker', () => {
    const t = buildTree(spans);
    expect(t.ordered.map((n) => n.key)).toEqual(['a', 'b', 'c', 'd', 'missing:missing', 'o']);
    expect(t.ordered.map((n) => n.depth)).toEqual([0, 1, 1, 2, 0, 1]);
    expect(t.roots.map((n) => n.key)).toEqual(['a', 'missing:missing']);
    const marker = t.byId.get('missing:missing')!;
    expect(marker.missing).toBe(true);
    expect(marker.span.name).toBe('missing parent');
    expect([marker.span.start_time_unix_nano, marker.span.end_time_unix_nano]).toEqual([5, 6]);
    expect(t.root?.span_id).toBe('a');
    expect(t.spanCount).toBe(5);
    expect(t.errorCount).toBe(1);
    expect(t.byId.get('a')!.descendants).toBe(3);
    expect(t.byId.get('a')!.errorsBelow).toBe(1);
    expect([t.start, t.end]).toEqual([0, 100]);
  });

  it('shows every span of an id used twice: a shared server span under its client', () => {
    const t = buildTree([
      span('r', null, 0, 100),
      span('x', 'r', 10, 90, { kind: 'client', service_name: 'web' }),
      span('x', 'r', 12, 88, { kind: 'server', service_name: 'api' }),
      span('y', 'x', 20, 30, { service_name: 'api' }),
    ]);
    expect(t.ordered.map((n) => [n.key, n.depth])).toEqual([['r', 0], ['x', 1], ['x#2', 2], ['y', 3]]);
    expect(t.byId.get('x')!.duplicate && t.byId.get('x#2')!.duplicate).toBe(true);
    expect(t.byId.get('y')!.duplicate).toBe(false);
    expect(t.spanCount).toBe(4);
  });

  it('survives cycles and keeps spans sent twice', () => {
    const t = buildTree([span('x', 'y', 0, 1), span('y', 'x', 0, 1), span('x', 'y', 0, 1)]);
    expect(t.ordered).toHaveLength(3);
    expect(t.ordered.filter((n) => n.duplicate)).toHaveLength(2);
  });
});

describe('visibleRows', () => {
  it('skips descendants of collapsed spans', () => {
    const t = buildTree(spans);
    expect(visibleRows(t, new Set(['c'])).map((n) => n.key)).toEqual(['a', 'b', 'c', 'missing:missing', 'o']);
    expect(visibleRows(t, new Set(['a', 'missing:missing'])).map((n) => n.key)).toEqual(['a', 'missing:missing']);
  });
  it('keeps ancestors of filtered spans', () => {
    const t = buildTree(spans);
    expect(visibleRows(t, new Set(), (n) => n.key === 'd').map((n) => n.span.span_id)).toEqual(['a', 'c', 'd']);
  });
});

describe('sectionsByKey', () => {
  it('names the server\'s sections by node key, spans sharing an id told apart by index', () => {
    const t = buildTree([span('r', null, 0, 100), span('x', 'r', 10, 90, { kind: 'client' }), span('x', 'r', 12, 88, { kind: 'server' })]);
    const byKey = sectionsByKey(t, [
      { span_index: 0, span_id: 'r', start_unix_nano: 0, end_unix_nano: 10 },
      { span_index: 2, span_id: 'x', start_unix_nano: 12, end_unix_nano: 88 },
      { span_index: 0, span_id: 'r', start_unix_nano: 90, end_unix_nano: 100 },
      { span_index: 7, span_id: 'gone', start_unix_nano: 1, end_unix_nano: 2 },
    ]);
    expect([...byKey.keys()]).toEqual(['r', 'x#2']);
    expect(byKey.get('r')).toEqual([{ key: 'r', start: 0, end: 10 }, { key: 'r', start: 90, end: 100 }]);
  });
});

describe('spanMatches', () => {
  it('matches names and attribute values case-insensitively', () => {
    expect(spanMatches(spans[2], 'POSTGRES')).toBe(true);
    expect(spanMatches(spans[2], 'op B')).toBe(true);
    expect(spanMatches(spans[1], 'postgres')).toBe(false);
  });
});
