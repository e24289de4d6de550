import type { ErrorGroup } from '../lib/types';
import { iso } from '../search/timerange';

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

/**
 * Asks `ask` for the range (`startS`, RFC3339) and, when its groups began late in it (see
 * `trendStart`), again from where their trends should start: nothing happened before, so only
 * the trend buckets change. Answers the last answer and where its trends start (null: `start`).
 */
export async function withReadableTrends<T>(ask: (start: string) => Promise<T>, groupsOf: (r: T) => ErrorGroup[], startS: string, start: number, end: number): Promise<{ answer: T; from: number | null }> {
  const first = await ask(startS);
  const from = trendStart(groupsOf(first), start, end);
  return { answer: from === null ? first : await ask(iso(from)), from };
}
