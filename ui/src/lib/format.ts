/** Human duration from nanoseconds: 850ns, 12.3µs, 4.56ms, 1.2s, 3m 4s, 2h 5m, 3d 4h; negative ones with a minus sign. */
export function fmtDuration(ns: number): string {
  if (!Number.isFinite(ns)) return '–';
  if (ns < 0) return `−${fmtDuration(-ns)}`;
  if (ns < 1_000) return `${Math.round(ns)}ns`;
  if (ns < 1_000_000) return `${trim(ns / 1_000)}µs`;
  if (ns < 1_000_000_000) return `${trim(ns / 1_000_000)}ms`;
  if (ns < 60_000_000_000) return `${trim(ns / 1_000_000_000)}s`;
  const s = Math.round(ns / 1_000_000_000);
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A round duration as an axis label: `0`, `2m`, `1h 30m`, `500ms` (no trailing zero unit). */
export function fmtTick(ns: number): string {
  return ns === 0 ? '0' : fmtDuration(ns).replace(/ 0[smh]$/, '');
}

/**
 * A time relative to a span's start: `+12ms` inside or after it, `−3.2s` before it. Events and
 * logs may fall outside their span (clock skew, late logs); the sign says on which side.
 */
export function fmtOffset(ns: number): string {
  return ns < 0 ? fmtDuration(ns) : `+${fmtDuration(ns)}`;
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

/**
 * Service colours: twelve hues 25° apart, none near the error red (which stays reserved for
 * errors), each in a darker and a lighter shade, so that two services get colours that differ
 * in hue or clearly in lightness.
 */
export const SERVICE_HUES = [35, 60, 85, 110, 135, 160, 185, 210, 235, 260, 285, 310];
const PALETTE = [...SERVICE_HUES.map((h) => [h, 44] as const), ...SERVICE_HUES.map((h) => [h, 62] as const)];

function hash(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Palette slot of each service seen so far: its hash's slot, or the next free one. */
const slots = new Map<string, number>();
const taken = new Set<number>();

/**
 * Registers services that are shown together (a trace's services, sorted) so that they get
 * distinct colours while the palette has room; a service keeps its colour once it has one.
 */
export function registerServices(names: string[]): void {
  for (const name of names) serviceSlot(name);
}

function serviceSlot(name: string): number {
  const known = slots.get(name);
  if (known !== undefined) return known;
  const n = PALETTE.length;
  let slot = hash(name) % n;
  // 7 is coprime with 24: the probe visits every slot, jumping far in hue each step.
  for (let i = 0; i < n && taken.has(slot); i++) slot = (slot + 7) % n;
  slots.set(name, slot);
  taken.add(slot);
  return slot;
}

/** A service's colour: stable for the page's life, never the error red. */
export function serviceColor(name: string): string {
  const [h, l] = PALETTE[serviceSlot(name)];
  return `hsl(${h} 65% ${l}%)`;
}

/** A light tint of the service colour, readable under dark text (flame graph boxes). */
export function serviceTint(name: string): string {
  const [h, l] = PALETTE[serviceSlot(name)];
  return `hsl(${h} 70% ${l < 50 ? 80 : 88}%)`;
}
