import type { Level, LogBucket } from './types';

/** Levels from most to least severe: the order of legends, stacks (bottom-up) and timeline rows. */
export const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'];

/** A known level for any server value (older or foreign data may carry other spellings). */
export function normaliseLevel(v: string | null | undefined): Level {
  const s = (v ?? '').toLowerCase();
  if (s === 'warning') return 'warn';
  if (s === 'err') return 'error';
  if (s === 'critical') return 'fatal';
  return (LEVELS as readonly string[]).includes(s) ? (s as Level) : 'unknown';
}

/** CSS colour of a level (a theme variable, so light and dark themes each pick readable shades). */
export function levelColor(level: Level): string {
  return `var(--lvl-${level})`;
}

/** True for levels that deserve attention (drawn with the error colour family). */
export function isErrorLevel(level: Level): boolean {
  return level === 'error' || level === 'fatal';
}

/** The levels present in a set of buckets, most severe first, so legends list only what is drawn. */
export function levelsPresent(buckets: LogBucket[]): Level[] {
  const seen = new Set<Level>();
  for (const b of buckets) for (const [k, n] of Object.entries(b.levels ?? {})) if (n) seen.add(normaliseLevel(k));
  return LEVELS.filter((l) => seen.has(l));
}

/** The counts of one bucket in the order of `levels` (missing levels count zero). */
export function levelParts(b: LogBucket, levels: readonly Level[]): number[] {
  const counts = new Map<Level, number>();
  for (const [k, n] of Object.entries(b.levels ?? {})) {
    const l = normaliseLevel(k);
    counts.set(l, (counts.get(l) ?? 0) + (n ?? 0));
  }
  return levels.map((l) => counts.get(l) ?? 0);
}
