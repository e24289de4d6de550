/** A "nice" step (1, 2 or 5 times a power of ten) that cuts `span` into about `count` pieces. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || count < 1) return 1;
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
}

/** Evenly spaced tick values at a nice step within [from, to] (offsets, e.g. ns into a trace). */
export function niceTicks(from: number, to: number, count: number): number[] {
  const step = niceStep(to - from, count);
  const out: number[] = [];
  for (let v = Math.ceil(from / step) * step; v <= to + step * 1e-9; v += step) out.push(v);
  return out;
}

const S = 1e9;
/** Steps of a time axis, in ns: round seconds, minutes, hours and days. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((s) => s * S);

/**
 * Ticks of an axis of offsets from 0 to `span` ns (a session, a trace): round seconds, minutes,
 * hours or days from 1 s up, 1, 2 or 5 times a power of ten below; at most about `count`.
 */
export function offsetTicks(span: number, count: number): number[] {
  const n = Math.max(1, count);
  const step = span >= n * S ? (TIME_STEPS.find((s) => span / s <= n) ?? TIME_STEPS[TIME_STEPS.length - 1]) : niceStep(span, n);
  const out: number[] = [];
  for (let t = 0; t <= span + step * 1e-9; t += step) out.push(t);
  return out;
}

/**
 * Ticks of a wall-clock axis over [start, end] (ns since the epoch): at the first step from
 * 1 s to 7 d that gives at most `count` ticks, on round local times (whole minutes, hours…).
 */
export function timeTicks(start: number, end: number, count: number): number[] {
  const span = Math.max(1, end - start);
  const step = TIME_STEPS.find((s) => span / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1];
  // Local midnight-aligned: shift by the zone offset before rounding (offsets are whole minutes).
  const offset = -new Date(start / 1e6).getTimezoneOffset() * 60 * S;
  const out: number[] = [];
  for (let t = Math.ceil((start + offset) / step) * step - offset; t <= end; t += step) out.push(t);
  return out;
}
