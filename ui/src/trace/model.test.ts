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

describe('criticalPath and selfTime', () => {
  it('gives sections, walking back from the last-finishing child', () => {
    const t = buildTree(spans);
    // a: 95..100 after c; c: 90..95 after d; d: 60..90; c: 50..60; a: 40..50; b: 10..40; a: 0..10.
    expect(criticalPath(t)).toEqual([
      { key: 'a', start: 0, end: 10 },
      { key: 'b', start: 10, end: 40 },
      { key: 'a', start: 40, end: 50 },
      { key: 'c', start: 50, end: 60 },
      { key: 'd', start: 60, end: 90 },
      { key: 'c', start: 90, end: 95 },
      { key: 'a', start: 95, end: 100 },
    ]);
    expect(selfTime(t.byId.get('a')!)).toBe(100 - 30 - 45);
  });

  it('only counts children that end before the point walked back to, clips overruns, drops late starters', () => {
    const t = buildTree([
      span('p', null, 0, 100),
      span('long', 'p', 10, 80), // still running when over starts: not critical
      span('short', 'p', 20, 30),
      span('over', 'p', 70, 120), // runs past the parent: counts until 100
      span('late', 'p', 110, 130), // starts after the parent ended: dropped
    ]);
    expect(criticalPath(t)).toEqual([
      { key: 'p', start: 0, end: 20 },
      { key: 'short', start: 20, end: 30 },
      { key: 'p', start: 30, end: 70 },
      { key: 'over', start: 70, end: 100 },
    ]);
  });
});

describe('spanMatches', () => {
  it('matches names and attribute values case-insensitively', () => {
    expect(spanMatches(spans[2], 'POSTGRES')).toBe(true);
    expect(spanMatches(spans[2], 'op B')).toBe(true);
    expect(spanMatches(spans[1], 'postgres')).toBe(false);
  });
});
