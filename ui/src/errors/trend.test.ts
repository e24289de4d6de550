import { describe, expect, it } from 'vitest';
import type { ErrorGroup } from '../lib/types';
import { trendStart, withReadableTrends } from './trend';

const M = 60e9;
const H = 60 * M;
const group = (first: number) => ({ first_seen_ns: first }) as ErrorGroup;

describe('trendStart', () => {
  const start = 1_000 * H;
  const end = start + 24 * H;
  it('starts at the minute of the earliest sighting when the range began quiet', () => {
    expect(trendStart([group(end - 40 * M + 17e9), group(end - 10 * M)], start, end)).toBe(end - 40 * M);
  });
  it('keeps at least 15 minutes', () => {
    expect(trendStart([group(end - 2 * M)], start, end)).toBe(end - 15 * M);
  });
  it('keeps the range when errors came early in it, or there are none', () => {
    expect(trendStart([group(start + 3 * H), group(end - M)], start, end)).toBeNull();
    expect(trendStart([], start, end)).toBeNull();
    expect(trendStart([group(start + 5 * M)], start, start + 16 * M)).toBeNull();
  });
});

describe('withReadableTrends', () => {
  const start = 1_000 * H;
  const end = start + 24 * H;
  it('asks again from the trend start only when the range began quiet', async () => {
    const asked: string[] = [];
    const ask = (late: boolean) => async (s: string) => {
      asked.push(s);
      return [group(late ? end - 40 * M : start + H)];
    };
    const quiet = await withReadableTrends(ask(true), (r) => r, new Date(start / 1e6).toISOString(), start, end);
    expect(quiet.from).toBe(end - 40 * M);
    expect(asked).toEqual([new Date(start / 1e6).toISOString(), new Date((end - 40 * M) / 1e6).toISOString()]);
    asked.length = 0;
    const busy = await withReadableTrends(ask(false), (r) => r, 'from', start, end);
    expect(busy.from).toBeNull();
    expect(asked).toEqual(['from']);
  });
});
