import { describe, expect, it } from 'vitest';
import type { Span } from '../lib/types';
import { flameLayout, panWindow, spanTree, zoomWindow, type FlameBox } from './flame';
import { buildTree, type Node } from './model';

function span(id: string, parent: string | null, start: number, end: number): Span {
  return {
    project_id: 'p', trace_id: 't', span_id: id, parent_span_id: parent, trace_state: '', name: id, kind: 'internal',
    start_time_unix_nano: start, end_time_unix_nano: end, duration_nanos: end - start, status_code: 'unset', status_message: '',
    service_name: 'svc', service_version: '', environment: '', scope_name: '', scope_version: '', scope_attributes: {}, session_id: null,
    attributes: {}, resource_attributes: {}, events: [], links: [], has_error: false,
    dropped_attributes_count: 0, dropped_events_count: 0, dropped_links_count: 0,
  };
}

const overlap = (boxes: Array<FlameBox<Node>>) => {
  let n = 0;
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      if (a.row !== b.row) continue;
      if (a.node.span.start_time_unix_nano < b.node.span.end_time_unix_nano && b.node.span.start_time_unix_nano < a.node.span.end_time_unix_nano) n++;
    }
  return n;
};

describe('flameLayout', () => {
  it('puts concurrent siblings in lanes and sequential ones side by side', () => {
    const t = buildTree([
      span('r', null, 0, 100),
      span('a', 'r', 0, 50),
      span('b', 'r', 10, 60), // overlaps a
      span('c', 'r', 60, 90), // after both
      span('a1', 'a', 5, 45),
    ]);
    const { boxes, rows } = flameLayout([t.roots[0]], spanTree);
    const row = Object.fromEntries(boxes.map((b) => [b.node.key, b.row]));
    expect(row).toEqual({ r: 0, a: 1, a1: 2, b: 3, c: 1 });
    expect(rows).toBe(4);
    expect(overlap(boxes)).toBe(0);
  });

  it('never overlaps, children always below their parent (random trees)', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const spans = [span('s0', null, 0, 1000)];
    for (let i = 1; i < 400; i++) {
      const p = spans[Math.floor(rand() * spans.length)];
      const a = p.start_time_unix_nano + Math.floor(rand() * p.duration_nanos);
      const b = a + Math.floor(rand() * (p.end_time_unix_nano - a)) + 1;
      spans.push(span(`s${i}`, p.span_id, a, b));
    }
    const t = buildTree(spans);
    const { boxes } = flameLayout([t.roots[0]], spanTree);
    expect(boxes).toHaveLength(400);
    expect(overlap(boxes)).toBe(0);
    const rowOf = new Map(boxes.map((b) => [b.node, b.row]));
    for (const b of boxes) if (b.node.parent) expect(b.row).toBeGreaterThan(rowOf.get(b.node.parent)!);
  });
});

describe('zoomWindow and panWindow', () => {
  const bounds: [number, number] = [0, 1_000_000];
  it('zooms around the pointer, which keeps its place', () => {
    expect(zoomWindow([0, 1_000_000], bounds, 0.5, 0.25)).toEqual([125_000, 625_000]);
    expect(zoomWindow([125_000, 625_000], bounds, 2, 0.25)).toEqual([0, 1_000_000]);
  });
  it('stays inside the bounds and above a microsecond', () => {
    expect(zoomWindow([800_000, 1_000_000], bounds, 4, 0.9)).toEqual([200_000, 1_000_000]);
    expect(zoomWindow([0, 2_000], bounds, 0.01, 0.5)).toEqual([500, 1_500]);
    expect(zoomWindow([0, 500_000], bounds, 10, 0)).toEqual([0, 1_000_000]);
  });
  it('pans by a share of the width, stopping at the edges', () => {
    expect(panWindow([100_000, 300_000], bounds, 0.5)).toEqual([200_000, 400_000]);
    expect(panWindow([100_000, 300_000], bounds, -1)).toEqual([0, 200_000]);
    expect(panWindow([900_000, 1_000_000], bounds, 0.2)).toEqual([900_000, 1_000_000]);
  });
});
