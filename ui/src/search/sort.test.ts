import { describe, expect, it } from 'vitest';
import { formatSort, isKeyOrder, isSortable, nextSort, parseSort } from './sort';

describe('search order', () => {
  it('reads the built-in orders and key orders', () => {
    expect(parseSort(null)).toEqual({ col: 'time', dir: 'desc' });
    expect(parseSort('duration_asc')).toEqual({ col: 'duration', dir: 'asc' });
    expect(parseSort('service_name:asc')).toEqual({ col: 'service', dir: 'asc' });
    expect(parseSort('http.status_code:desc')).toEqual({ col: 'attr:http.status_code', dir: 'desc' });
    expect(parseSort('db:rows:asc')).toEqual({ col: 'attr:db:rows', dir: 'asc' });
  });

  it('writes what it reads', () => {
    for (const s of ['time_desc', 'duration_asc', 'span_name:desc', 'user.id:asc']) {
      expect(formatSort(parseSort(s))).toBe(s);
    }
  });

  it('cycles a header from descending to ascending to the default', () => {
    const byTime = parseSort('time_desc');
    expect(nextSort(byTime, 'attr:user.id')).toBe('user.id:desc');
    expect(nextSort(parseSort('user.id:desc'), 'attr:user.id')).toBe('user.id:asc');
    expect(nextSort(parseSort('user.id:asc'), 'attr:user.id')).toBeNull();
  });

  it('knows which orders the server keeps and which columns sort', () => {
    expect(isKeyOrder(parseSort('time_asc'))).toBe(false);
    expect(isKeyOrder(parseSort('span_name:asc'))).toBe(true);
    expect(isSortable('trace')).toBe(false);
    expect(isSortable('attr:x')).toBe(true);
  });
});
