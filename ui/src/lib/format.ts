/** Human duration from nanoseconds: 850ns, 12.3µs, 4.56ms, 1.2s, 3m 4s. */
export function fmtDuration(ns: number): string {
  if (!Number.isFinite(ns)) return '–';
  const a = Math.abs(ns);
  if (a < 1_000) return `${Math.round(ns)}ns`;
  if (a < 1_000_000) return `${trim(ns / 1_000)}µs`;
  if (a < 1_000_000_000) return `${trim(ns / 1_000_000)}ms`;
  if (a < 60_000_000_000) return `${trim(ns / 1_000_000_000)}s`;
  const s = Math.round(ns / 1_000_000_000);
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function trim(x: number): string {
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return String(Number(x.toFixed(digits)));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local wall-clock time with milliseconds, e.g. 2024-05-01 12:03:04.123. */
export function fmtTime(ns: number): string {
  const d = new Date(Math.floor(ns / 1_000_000));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Short axis label for a time, depending on the span of the axis. */
export function fmtAxisTime(ns: number, spanNs: number): string {
  const d = new Date(Math.floor(ns / 1_000_000));
  if (spanNs > 2 * 86_400e9) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanNs > 600e9) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Value of an attribute as display text. */
export function fmtValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Renders a value for a query: quoted when it has spaces or special characters. */
export function queryValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (/^[A-Za-z0-9_.\-/@]+$/.test(s) && !s.startsWith('/')) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Stable colour (HSL hue) for a service name. */
export function serviceHue(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % 360;
}

export function serviceColor(name: string): string {
  return `hsl(${serviceHue(name)} 62% 52%)`;
}

/** A light tint of the service colour, readable under dark text (flame graph boxes). */
export function serviceTint(name: string): string {
  return `hsl(${serviceHue(name)} 70% 80%)`;
}
