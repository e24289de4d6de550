// Pure helpers of the search page's chart view: the functions it offers, how their values
// read, and how a series is named.
import { fmtDuration } from '../lib/format';
import { fmtPercent, fmtRate } from '../services/red';

/** A function of the chart: the API's `fn`, its name in the picker, how a value reads, and what a step without spans reads as. */
export interface ChartFn {
  fn: string;
  label: string;
  format: (v: number) => string;
  empty: number | null;
}

export const CHART_FNS: ChartFn[] = [
  { fn: 'count', label: 'Count', format: (v) => Math.round(v).toLocaleString(), empty: 0 },
  { fn: 'rate', label: 'Rate', format: fmtRate, empty: 0 },
  { fn: 'error_rate', label: 'Error rate', format: fmtPercent, empty: null },
  ...['p50', 'p90', 'p95', 'p99'].map((p) => ({ fn: `${p}(duration)`, label: `${p} duration`, format: fmtDuration, empty: null })),
];

/** The function named in the URL (`chart=`), or count. */
export function chartFn(name: string | null): ChartFn {
  return CHART_FNS.find((f) => f.fn === name) ?? CHART_FNS[0];
}

/** Keys offered for splitting (any attribute key may be typed). */
export const SPLIT_KEYS = ['service', 'name', 'kind', 'status', 'environment'];

/**
 * A series' name: its label values (the answer names keys canonically, `service` as
 * `service_name`, in its own order), `(none)` for spans without the key; `all` when unsplit.
 */
export function seriesName(labels: Record<string, string>): string {
  const values = Object.values(labels);
  return values.length === 0 ? 'all' : values.map((v) => v || '(none)').join(' · ');
}

/** The `by` keys of the URL's comma-separated list, trimmed, empty ones dropped. */
export function splitKeys(text: string | null): string[] {
  return (text ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
}
