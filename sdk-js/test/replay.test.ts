// Session replay: chunk numbering, the sender against a real HTTP server (gzip bodies, retry of
// unacknowledged chunks in order, refusals dropped, a dead endpoint harmless), and rrweb recording
// with the SDK's defaults (inputs masked, blocked elements left out, opt-out honoured).
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  ChunkSender,
  OPT_OUT_ATTRIBUTE,
  SEQUENCE_STORAGE_KEY,
  nextSequence,
  replay,
} from '../src/replay';

interface Received {
  encoding: string | undefined;
  key: string | undefined;
  body: { session_id: string; sequence: number; events: Array<Record<string, unknown>> };
}

let server: Server;
let endpoint: string;
let received: Received[];
/** Statuses to answer, in order; 200 once they run out. */
let answers: number[];

async function read(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

beforeEach(async () => {
  sessionStorage.clear();
  received = [];
  answers = [];
  server = createServer(async (req, res) => {
    const raw = await read(req);
    const encoding = req.headers['content-encoding'];
    const text = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const status = answers.shift() ?? 200;
    if (status === 200) {
      received.push({ encoding, key: req.headers['x-tracehouse-key'] as string, body: JSON.parse(text) });
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  document.documentElement.removeAttribute(OPT_OUT_ATTRIBUTE);
  document.body.innerHTML = '';
});

const context = () => ({ endpoint, headers: { 'x-tracehouse-key': 'pk' }, sessionId: 's1' });
const event = (n: number) => ({ type: 3, timestamp: 1_700_000_000_000 + n, data: { n } });

describe('chunk numbers', () => {
  it('continue across page loads of one tab session', () => {
    expect([nextSequence(), nextSequence(), nextSequence()]).toEqual([0, 1, 2]);
    expect(sessionStorage.getItem(SEQUENCE_STORAGE_KEY)).toBe('3');
    sessionStorage.setItem(SEQUENCE_STORAGE_KEY, 'garbage');
    expect(nextSequence()).toBe(0);
  });

  it('survive storage that throws', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
    } as unknown as Storage;
    expect(Number.isSafeInteger(nextSequence(broken))).toBe(true);
  });
});

describe('sender', () => {
  it('posts gzipped chunks with the key', async () => {
    await new ChunkSender(context()).send({ sequence: 0, events: [event(1)] });
    expect(received).toHaveLength(1);
    expect(received[0].encoding).toBe('gzip');
    expect(received[0].key).toBe('pk');
    expect(received[0].body).toEqual({ session_id: 's1', sequence: 0, events: [event(1)] });
  });

  it('sends uncompressed when the page is going away', async () => {
    await new ChunkSender(context()).send({ sequence: 4, events: [event(1)] }, true);
    expect(received[0].encoding).toBeUndefined();
    expect(received[0].body.sequence).toBe(4);
  });

  it('keeps unacknowledged chunks and resends them in order; refusals are dropped', async () => {
    const sender = new ChunkSender(context());
    answers = [503];
    await sender.send({ sequence: 0, events: [event(0)] });
    expect(received).toHaveLength(0);
    answers = [200, 400];
    await sender.send({ sequence: 1, events: [event(1)] });
    await sender.send({ sequence: 2, events: [event(2)] });
    expect(received.map((r) => r.body.sequence)).toEqual([0, 2]);
  });

  it('sends everything queued at once when the page goes away, and no chunk is lost', async () => {
    const sender = new ChunkSender(context());
    answers = [503];
    await sender.send({ sequence: 0, events: [event(0)] });
    const background = sender.send({ sequence: 1, events: [event(1)] });
    await sender.send({ sequence: 2, events: [event(2)] }, true);
    await background;
    await sender.send(undefined);
    const sent = received.map((r) => r.body.sequence).sort();
    expect(new Set(sent)).toEqual(new Set([0, 1, 2]));
  });

  it('never rejects when the endpoint is down', async () => {
    const dead = new ChunkSender({ ...context(), endpoint: 'http://127.0.0.1:9' });
    await expect(dead.send({ sequence: 0, events: [event(0)] })).resolves.toBeUndefined();
  });
});

describe('recording', () => {
  it('masks inputs and leaves blocked elements out by default', async () => {
    document.body.innerHTML =
      '<h1>Checkout</h1><input id="card" value="4111 1111"><div class="private">my secret note</div>';
    const running = replay({ blockSelector: '.private', flushIntervalMs: 60_000 }).start(context())!;
    await running.stop();
    const text = JSON.stringify(received.flatMap((r) => r.body.events));
    expect(received.length).toBeGreaterThan(0);
    expect(received[0].body.sequence).toBe(0);
    expect(text).toContain('Checkout');
    expect(text).not.toContain('4111');
    expect(text).not.toContain('my secret note');
    expect(received[0].body.events.map((e) => e.type)).toContain(2);
  });

  it('records nothing on a page that opts out', () => {
    document.documentElement.setAttribute(OPT_OUT_ATTRIBUTE, 'off');
    expect(replay().start(context())).toBeUndefined();
    expect(replay({ enabled: false }).start(context())).toBeUndefined();
  });
});
