// Pure helpers of the services pages: how rates and error fractions read, sparklines with
// their empty steps filled in, and the row orders the API takes.
import type { RedPoint } from '../lib/types';

/** The orders of the RED tables, as the API names them; all but `name` highest first. */
export const RED_SORTS = ['name', 'rate', 'error_rate', 'p50', 'p95', 'p99'] as const;
export type RedSort = (typeof RED_SORTS)[number];

/** The order in the URL, or the API's default (`rate`). */
export function sortOf(p: URLSearchParams): RedSort {
  const s = p.get('sort');
  return (RED_SORTS as readonly string[]).includes(s ?? '') ? (s as RedSort) : 'rate';
}

const digits = (x: number) => (x >= 100 ? 0 : x >= 10 ? 1 : 2);
const num = (x: number) => String(Number(x.toFixed(digits(x))));

/** Spans per second as people read it: per second from 1/s up, else per minute, else per hour. */
export function fmtRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0/s';
  if (perSecond >= 1) return `${num(perSecond)}/s`;
  if (perSecond * 60 >= 1) return `${num(perSecond * 60)}/min`;
  return `${num(perSecond * 3600)}/h`;
}

/** A fraction (0 to 1) as a percentage with up to two decimals: 0%, 0.05%, 12.5%, 100%. */
export function fmtPercent(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction <= 0) return '0%';
  return `${num(fraction * 100)}%`;
}

/**
 * A sparkline's values at every step of `[startNs, endNs)`: the API leaves steps without spans
 * out, which read as 0 here (no spans, no errors, no latency).
 */
export function sparkValues(points: RedPoint[], startNs: number, endNs: number, stepNs: number, pick: (p: RedPoint) => number): number[] {
  if (stepNs <= 0 || endNs <= startNs) return [];
  const n = Math.ceil((endNs - startNs) / stepNs);
  const values = new Array<number>(n).fill(0);
  for (const p of points) {
    const i = Math.floor((p.t - startNs) / stepNs);
    if (p.t >= startNs && p.t < endNs) values[i] = pick(p);
  }
  return values;
}
