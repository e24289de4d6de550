import { describe, expect, it } from 'vitest';
import { LEVELS, levelParts, levelsPresent, normaliseLevel } from './levels';
import type { LogBucket } from './types';

describe('log levels', () => {
  it('normalises spellings and unknown values', () => {
    expect(normaliseLevel('ERROR')).toBe('error');
    expect(normaliseLevel('warning')).toBe('warn');
    expect(normaliseLevel('critical')).toBe('fatal');
    expect(normaliseLevel('verbose')).toBe('unknown');
    expect(normaliseLevel(null)).toBe('unknown');
  });

  it('lists only the levels that occur, most severe first', () => {
    const buckets: LogBucket[] = [
      { start: 0, end: 1, count: 3, levels: { info: 2, debug: 1 } },
      { start: 1, end: 2, count: 2, levels: { error: 1, info: 1, warn: 0 } },
    ];
    expect(levelsPresent(buckets)).toEqual(['error', 'info', 'debug']);
  });

  it('splits a bucket into parts in the given level order, zero for missing levels', () => {
    const b = { start: 0, end: 1, count: 6, levels: { info: 3, error: 2, WARNING: 1 } as Record<string, number> };
    expect(levelParts(b, ['error', 'warn', 'info', 'debug'])).toEqual([2, 1, 3, 0]);
    expect(levelParts(b, LEVELS).reduce((a, x) => a + x, 0)).toBe(6);
  });
});
