/**
 * `@tracehouse/browser/replay`: session replay for {@link init}, recorded with rrweb and sent to
 * tracehouse's `POST /v1/replay` in numbered, gzip-compressed chunks. Its own entry point, so a
 * page that does not record pays nothing for rrweb:
 *
 * ```js
 * import { init } from '@tracehouse/browser';
 * import { replay } from '@tracehouse/browser/replay';
 * init({ endpoint, projectKey, serviceName, replay: replay({ blockSelector: '.private' }) });
 * ```
 *
 * Every input's value is masked unless `maskAllInputs: false`; elements matching
 * `blockSelector` are recorded as empty boxes; a page whose `<html>` has
 * `data-tracehouse-replay="off"` is not recorded at all.
 */

import { record } from '@rrweb/record';

import type { Recorder, RecorderContext, RunningRecorder } from './plugin';

export type { Recorder, RecorderContext, RunningRecorder } from './plugin';

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Record nothing when false (default true). */
  enabled?: boolean;
  /** Mask the value of every input, textarea and select (default true). */
  maskAllInputs?: boolean;
  /** CSS selector of elements recorded as empty boxes (nothing inside is recorded). */
  blockSelector?: string;
  /** CSS selector of elements whose text is recorded as `*`s. */
  maskTextSelector?: string;
  /** How often buffered events are sent, ms (default 5000). */
  flushIntervalMs?: number;
  /** A chunk is sent at once when it holds this many events (default 1000). */
  maxChunkEvents?: number;
}

/** The `sessionStorage` key holding the next chunk number of the tab's session. */
export const SEQUENCE_STORAGE_KEY = 'tracehouse.replay_sequence';

/** The attribute of `<html>` that opts a page out of recording (`data-tracehouse-replay="off"`). */
export const OPT_OUT_ATTRIBUTE = 'data-tracehouse-replay';

/** Chunks kept for a retry while the endpoint is unreachable; older ones are dropped. */
const MAX_PENDING = 20;

/** Largest body sent with `keepalive` (browsers allow 64 KiB in flight per page). */
const KEEPALIVE_BYTES = 60 * 1024;

/** A chunk of events, numbered in its session. */
interface Chunk {
  sequence: number;
  events: unknown[];
}

/** Numbers a tab session's chunks: reloads of the tab continue the count, so no two chunks of a
 * session share a number. Storage that throws gives a count per page, from a random start. */
export function nextSequence(storage: Storage | undefined = globalThis.sessionStorage): number {
  try {
    const next = Number(storage?.getItem(SEQUENCE_STORAGE_KEY) ?? '0');
    const n = Number.isSafeInteger(next) && next >= 0 ? next : 0;
    storage?.setItem(SEQUENCE_STORAGE_KEY, String(n + 1));
    return n;
  } catch {
    return Math.floor(Math.random() * 2 ** 31);
  }
}

/** `body` gzipped with the browser's CompressionStream, or `undefined` where there is none. */
export async function gzip(body: string): Promise<Uint8Array | undefined> {
  if (typeof CompressionStream === 'undefined') return undefined;
  const stream = new Response(body).body?.pipeThrough(new CompressionStream('gzip'));
  return stream && new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Sends chunks to `/v1/replay`, keeping the unacknowledged ones for the next attempt. */
export class ChunkSender {
  private pending: Chunk[] = [];
  private sending = false;

  constructor(private readonly context: RecorderContext) {}

  /** Queues `chunk` and sends everything queued, oldest first; never rejects. `unloading`: the
   * page is going away, so every queued chunk goes at once, uncompressed (compression is
   * asynchronous) with `keepalive`. */
  async send(chunk: Chunk | undefined, unloading = false): Promise<void> {
    if (chunk) this.pending.push(chunk);
    this.pending.splice(0, Math.max(0, this.pending.length - MAX_PENDING));
    if (unloading) {
      await Promise.all(this.pending.map(async (c) => (await this.post(c, true)) && this.settle(c)));
      return;
    }
    if (this.sending) return;
    this.sending = true;
    try {
      for (let next = this.pending[0]; next; next = this.pending[0]) {
        if (!(await this.post(next, false))) return;
        this.settle(next);
      }
    } finally {
      this.sending = false;
    }
  }

  /** Forgets a chunk that is done with (another send may have settled it already). */
  private settle(chunk: Chunk): void {
    const i = this.pending.indexOf(chunk);
    if (i >= 0) this.pending.splice(i, 1);
  }

  /** Posts one chunk; whether it is done with (stored, or refused for good). */
  private async post(chunk: Chunk, unloading: boolean): Promise<boolean> {
    const json = JSON.stringify({
      session_id: this.context.sessionId,
      sequence: chunk.sequence,
      events: chunk.events,
    });
    const headers: Record<string, string> = {
      ...this.context.headers,
      'content-type': 'application/json',
    };
    let body: BodyInit = json;
    const compressed = unloading ? undefined : await gzip(json).catch(() => undefined);
    if (compressed) {
      body = compressed as BodyInit;
      headers['content-encoding'] = 'gzip';
    }
    const size = compressed ? compressed.byteLength : json.length;
    try {
      const resp = await fetch(`${this.context.endpoint}/v1/replay`, {
        method: 'POST',
        headers,
        body,
        keepalive: unloading && size <= KEEPALIVE_BYTES,
        credentials: 'omit',
      });
      // Overloaded or rate-limited: retry later; any other refusal would be refused again.
      return resp.ok || (resp.status !== 503 && resp.status !== 429);
    } catch {
      return false;
    }
  }
}

/** A recorder of the page with rrweb, for {@link init}'s `replay` option. */
export function replay(options: ReplayOptions = {}): Recorder {
  return { start: (context) => startRecording(context, options) };
}

function optedOut(options: ReplayOptions): boolean {
  if (options.enabled === false) return true;
  return globalThis.document?.documentElement?.getAttribute(OPT_OUT_ATTRIBUTE) === 'off';
}

function startRecording(
  context: RecorderContext,
  options: ReplayOptions,
): RunningRecorder | undefined {
  if (optedOut(options)) return undefined;
  const sender = new ChunkSender(context);
  const maxEvents = options.maxChunkEvents ?? 1000;
  let buffer: unknown[] = [];
  const cut = (): Chunk | undefined => {
    if (buffer.length === 0) return undefined;
    const chunk = { sequence: nextSequence(), events: buffer };
    buffer = [];
    return chunk;
  };
  const flush = (unloading = false) => sender.send(cut(), unloading).catch(() => {});
  const stopRecording = record({
    emit(event) {
      buffer.push(event);
      if (buffer.length >= maxEvents) void flush();
    },
    maskAllInputs: options.maskAllInputs ?? true,
    blockSelector: options.blockSelector,
    maskTextSelector: options.maskTextSelector,
  });
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 5000);
  const onHide = () => {
    if (document.visibilityState === 'hidden') void flush(true);
  };
  const onPageHide = () => void flush(true);
  addEventListener('visibilitychange', onHide);
  addEventListener('pagehide', onPageHide);
  return {
    flush: () => flush(),
    stop: async () => {
      clearInterval(timer);
      removeEventListener('visibilitychange', onHide);
      removeEventListener('pagehide', onPageHide);
      stopRecording?.();
      await flush();
    },
  };
}
