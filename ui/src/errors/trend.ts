import type { ErrorGroup } from '../lib/types';

const MINUTE = 60e9;
/** The shortest trend window: under it the buckets would be seconds wide. */
const MIN_WINDOW = 15 * MINUTE;

/**
 * Where error trends should start so that they are readable: at the minute of the earliest
 * first sighting among `groups` when nothing happened in the first quarter of `[start, end)`
 * (errors of the last hour on a 24-hour range would otherwise be a flat line with a spike at
 * its end), never less than 15 minutes before `end`; `null` to keep the range's start.
 */
export function trendStart(groups: ErrorGroup[], start: number, end: number): number | null {
  if (groups.length === 0) return null;
  const first = Math.min(...groups.map((g) => g.first_seen_ns));
  const from = Math.min(Math.floor(first / MINUTE) * MINUTE, end - MIN_WINDOW);
  return from - start >= (end - start) / 4 ? from : null;
}
