export const PRESETS: Array<{ id: string; label: string; ns: number }> = [
  { id: '15m', label: 'Last 15 minutes', ns: 15 * 60e9 },
  { id: '1h', label: 'Last hour', ns: 3600e9 },
  { id: '6h', label: 'Last 6 hours', ns: 6 * 3600e9 },
  { id: '24h', label: 'Last 24 hours', ns: 24 * 3600e9 },
  { id: '7d', label: 'Last 7 days', ns: 7 * 24 * 3600e9 },
];

export interface Range {
  /** A preset id, or null for an absolute range. */
  preset: string | null;
  start: number;
  end: number;
}

/** Parses a time given as ns or RFC3339 into ns. */
export function parseTime(s: string | null): number | null {
  if (!s) return null;
  if (/^\d+$/.test(s)) return Number(s);
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms * 1e6;
}

/** The effective range from URL params: `range=<preset>` or `start`/`end`; else the `fallback` preset (the last hour). */
export function rangeFromParams(p: URLSearchParams, now = Date.now() * 1e6, fallback = '1h'): Range {
  const start = parseTime(p.get('start'));
  const end = parseTime(p.get('end'));
  if (start !== null && end !== null && start < end && !p.get('range')) return { preset: null, start, end };
  const preset = PRESETS.find((x) => x.id === p.get('range')) ?? PRESETS.find((x) => x.id === fallback) ?? PRESETS[1];
  return { preset: preset.id, start: now - preset.ns, end: now };
}

/** URL params that carry a range to another page: the preset, or the absolute bounds. */
export function rangeParams(r: Range): Record<string, string> {
  return r.preset ? { range: r.preset } : { start: iso(r.start), end: iso(r.end) };
}

/**
 * URL params for a range that surely covers `[startNs, endNs]`: the smallest sliding preset
 * that reaches back far enough (so the link stays useful later), else a day either side.
 */
export function rangeAround(startNs: number, endNs: number, now = Date.now() * 1e6): Record<string, string> {
  const margin = 60e9;
  const preset = PRESETS.find((p) => endNs <= now + margin && startNs >= now - p.ns + margin && p.ns >= 3600e9);
  if (preset) return { range: preset.id };
  return { start: iso(startNs - 86_400e9), end: iso(endNs + 86_400e9) };
}

/** A path with query parameters (empty values dropped). */
export function withParams(path: string, params: Record<string, string | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) u.set(k, v);
  const s = u.toString();
  return s ? `${path}?${s}` : path;
}

/** ns → RFC3339 with millisecond precision (what the API accepts, and readable in URLs). */
export function iso(ns: number): string {
  return new Date(Math.floor(ns / 1e6)).toISOString();
}
