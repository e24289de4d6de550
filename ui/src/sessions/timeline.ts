import { LEVELS, normaliseLevel } from '../lib/levels';
import type { ErrorOccurrence, Level, LogRecord, TraceRow } from '../lib/types';

/** A trace drawn as a bar: lane (row) and horizontal position as fractions of the axis. */
export interface TraceBar {
  trace: TraceRow;
  lane: number;
  left: number;
  width: number;
  /** Where the bar's label starts when it does not fit inside the bar (else null). */
  labelAt: number | null;
}

/** Items that fall into one horizontal bin: their count and the first of them (the link target). */
export interface Bin<T> {
  left: number;
  count: number;
  first: T;
}

/** Everything a session timeline draws, positioned on one time axis. */
export interface Timeline {
  start: number;
  end: number;
  bars: TraceBar[];
  lanes: number;
  errors: Bin<ErrorOccurrence>[];
  logRows: Array<{ level: Level; bins: Bin<LogRecord>[] }>;
}

/** Bars narrower than this fraction of the axis are widened so they stay visible and clickable. */
export const MIN_BAR = 0.006;

/**
 * Groups items into `n` equal time bins (only non-empty bins are returned, left to right), so
 * that thousands of logs or errors draw as at most `n` marks.
 */
export function binByTime<T>(items: T[], timeOf: (x: T) => number, start: number, end: number, n: number): Bin<T>[] {
  const span = Math.max(1, end - start);
  const bins = new Map<number, Bin<T>>();
  for (const it of items) {
    const f = Math.min(1, Math.max(0, (timeOf(it) - start) / span));
    const i = Math.min(n - 1, Math.floor(f * n));
    const b = bins.get(i);
    if (b) b.count++;
    else bins.set(i, { left: (i + 0.5) / n, count: 1, first: it });
  }
  return [...bins.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
}

/**
 * Lays out a session: traces as bars packed into as few lanes as possible without overlaps
 * (in start order, each into the first lane free at its start), errors and logs (one row per
 * level, most severe first) binned along the same axis. A bar narrower than `label` (the
 * share of the axis its label needs) gets its label beside it (after it, or before it at the
 * end of the axis), and the lanes keep that room free too. The axis also covers the times in
 * `also` (a replay's first and last event).
 */
export function layoutTimeline(traces: TraceRow[], errors: ErrorOccurrence[], logs: LogRecord[], bins = 240, label = 0, also: number[] = []): Timeline {
  let start = Math.min(Infinity, ...also);
  let end = Math.max(-Infinity, ...also);
  for (const t of traces) {
    start = Math.min(start, t.start);
    end = Math.max(end, t.start + t.duration);
  }
  for (const e of errors) {
    start = Math.min(start, e.time_unix_nano);
    end = Math.max(end, e.time_unix_nano);
  }
  for (const l of logs) {
    start = Math.min(start, l.time_unix_nano);
    end = Math.max(end, l.time_unix_nano);
  }
  if (!Number.isFinite(start)) start = end = 0;
  // A single instant still gets a readable axis.
  if (end - start < 1e6) end = start + 1e6;
  const span = end - start;

  const laneEnds: number[] = [];
  const bars: TraceBar[] = [...traces]
    .sort((a, b) => a.start - b.start || a.trace_id.localeCompare(b.trace_id))
    .map((trace) => {
      const left = (trace.start - start) / span;
      const width = Math.max(MIN_BAR, trace.duration / span);
      const labelAt = width >= label ? null : left + width + label <= 1 ? left + width : Math.max(0, left - label);
      const from = labelAt === null ? left : Math.min(left, labelAt);
      const to = labelAt === null ? left + width : Math.max(left + width, labelAt + label);
      let lane = laneEnds.findIndex((e) => e <= from);
      if (lane < 0) lane = laneEnds.push(0) - 1;
      laneEnds[lane] = to;
      return { trace, lane, left, width, labelAt };
    });

  const byLevel = new Map<Level, LogRecord[]>();
  for (const l of logs) {
    const lvl = normaliseLevel(l.level);
    const list = byLevel.get(lvl);
    if (list) list.push(l);
    else byLevel.set(lvl, [l]);
  }
  const logRows = LEVELS.filter((l) => byLevel.has(l)).map((level) => ({
    level,
    bins: binByTime(byLevel.get(level)!, (l) => l.time_unix_nano, start, end, bins),
  }));

  return {
    start,
    end,
    bars,
    lanes: laneEnds.length,
    errors: binByTime(errors, (e) => e.time_unix_nano, start, end, bins),
    logRows,
  };
}
