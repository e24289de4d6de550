import { getJson } from '../lib/api';
import type { components } from '../lib/api.gen';

type SessionReplay = components['schemas']['SessionReplay'];

/** An rrweb event as recorded: its type and its time in ms since the epoch. */
export interface RecordedEvent {
  type: number;
  timestamp: number;
  [field: string]: unknown;
}

/** Pages of a recording read at most (200 chunks or 8 MiB each). */
const MAX_PAGES = 25;

/** A session's recorded events, oldest first, every page of them (empty when none). */
export async function getReplay(sessionId: string, signal?: AbortSignal): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let after: number | null | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await getJson<SessionReplay>(`/api/v1/sessions/${encodeURIComponent(sessionId)}/replay`, { after }, signal);
    events.push(...(body.events as unknown as RecordedEvent[]));
    after = body.next_after;
    if (after === null || after === undefined) break;
  }
  return events;
}

/** Whether the session has a recording: its first page of events is not empty. */
export async function hasReplay(sessionId: string, signal?: AbortSignal): Promise<boolean> {
  const body = await getJson<SessionReplay>(`/api/v1/sessions/${encodeURIComponent(sessionId)}/replay`, {}, signal);
  return body.events.length > 0;
}

/** First and last event times of a recording, in ns (null without events). */
export function recordingExtent(events: RecordedEvent[]): [number, number] | null {
  if (events.length === 0) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of events) {
    lo = Math.min(lo, e.timestamp);
    hi = Math.max(hi, e.timestamp);
  }
  return [lo * 1e6, hi * 1e6];
}

/** The player's offset (ms from its first event at `startMs`, within `[0, totalMs]`) of a time in ns. */
export function offsetAt(ns: number, startMs: number, totalMs: number): number {
  return Math.min(totalMs, Math.max(0, ns / 1e6 - startMs));
}

/** The time in ns of a player offset (ms from its first event at `startMs`). */
export function timeAt(offsetMs: number, startMs: number): number {
  return (startMs + offsetMs) * 1e6;
}
