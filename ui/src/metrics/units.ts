// How a metric's values read on the axis and in the legend: its OTLP unit (UCUM, as sent)
// applied to what the function returns.
import { fmtDuration } from '../lib/format';

/** Nanoseconds per unit of the time units OpenTelemetry uses. */
const TIME_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, min: 60e9, h: 3600e9 };
/** Bytes per unit. */
const BYTE_UNITS: Record<string, number> = { By: 1, KiBy: 1024, MiBy: 1024 ** 2, GiBy: 1024 ** 3, kBy: 1e3, MBy: 1e6, GBy: 1e9 };

/** A number in at most four significant digits, with k/M/G past ten thousand. */
export function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const abs = Math.abs(v);
  if (abs >= 1e4) return new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 }).format(v);
  if (abs === 0 || abs >= 1) return String(Number(v.toFixed(abs >= 100 ? 1 : 2)));
  return String(Number(v.toPrecision(3)));
}

function fmtBytes(b: number): string {
  const steps = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(b) >= 1000 && i < steps.length - 1) [b, i] = [b / 1000, i + 1];
  return `${fmtNumber(b)} ${steps[i]}`;
}

/**
 * The unit of what a function returns: the metric's own for values (`avg`, `sum`, `min`,
 * `max`, percentiles, a counter's `increase`), `/s` after it for a counter's `rate`; none for
 * counts and for what a histogram's `rate` and `increase` count (observations).
 */
export function resultUnit(unit: string, fn: string, type: string | null | undefined): { unit: string; perSecond: boolean } {
  const histogram = type === 'histogram' || type === 'exponential_histogram';
  if (fn === 'count' || (histogram && (fn === 'rate' || fn === 'increase'))) return { unit: '', perSecond: fn === 'rate' };
  return { unit, perSecond: fn === 'rate' };
}

/** How values of a unit read: in full (legend, tables), and on an axis, whose label says the unit when the ticks do not. */
export interface UnitFormat {
  format: (v: number) => string;
  axis: { format: (v: number) => string; label: string };
}

/** The formats of values of `unit` (`ms`, `By`, `{request}`, `1`, `%`…), per second when asked. */
export function unitFormats(unit: string, perSecond = false): UnitFormat {
  const per = perSecond ? '/s' : '';
  const same = (format: (v: number) => string) => ({ format, axis: { format, label: '' } });
  if (TIME_UNITS[unit] && !perSecond) return same((v) => fmtDuration(v * TIME_UNITS[unit]));
  if (BYTE_UNITS[unit]) return same((v) => `${fmtBytes(v * BYTE_UNITS[unit])}${per}`);
  // UCUM's dimensionless 1 and annotations in braces read as a plain count of what they name.
  const name = unit === '1' ? '' : unit.replace(/^\{(.*)\}$/, '$1');
  const suffix = unit === '%' ? `%${per}` : name ? ` ${name}${per}` : per;
  return { format: (v) => `${fmtNumber(v)}${suffix}`, axis: { format: fmtNumber, label: suffix.trim() } };
}

/** The formats of what `fn` returns of a metric (its unit and type as the answer says). */
export function answerFormats(a: { unit: string; type?: string | null }, fn: string): UnitFormat {
  const { unit, perSecond } = resultUnit(a.unit, fn, a.type);
  return unitFormats(unit, perSecond);
}

/** The full format of values of `unit` (see `unitFormats`). */
export const unitFormat = (unit: string, perSecond = false) => unitFormats(unit, perSecond).format;
