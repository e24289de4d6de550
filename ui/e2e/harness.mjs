// What the browser tests and the trace-open benchmark share: the real tracehouse binary on
// free ports and a temporary data directory, OTLP/HTTP JSON posting, and Debian's Chromium
// through playwright-core (never a downloaded browser).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.TRACEHOUSE_BIN ?? join(repo, 'target/debug/tracehouse');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function fail(msg) {
  console.error(`e2e: ${msg}`);
  process.exit(2);
}

export const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/**
 * Starts `tracehouse serve` (retention forever, plus `args`) and waits until it is healthy.
 * Returns its API base URL, OTLP/HTTP URLs (traces, logs, metrics), `post(body, to)`, `waitTrace(id, n)` and `stop()`.
 */
export async function startServer({ args = [] } = {}) {
  if (!existsSync(BIN)) fail(`no binary at ${BIN}: run \`cargo build -p tracehouse\` first (or set TRACEHOUSE_BIN)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'tracehouse-e2e-'));
  const [apiPort, grpcPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${apiPort}`;
  const otlpUrl = `http://127.0.0.1:${httpPort}/v1/traces`;
  const otlpLogsUrl = `http://127.0.0.1:${httpPort}/v1/logs`;
  const otlpMetricsUrl = `http://127.0.0.1:${httpPort}/v1/metrics`;
  const server = spawn(BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${apiPort}`, '--otlp-grpc', `127.0.0.1:${grpcPort}`, '--otlp-http', `127.0.0.1:${httpPort}`, '--retention', 'forever', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  const stop = async () => {
    server.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.once('exit', r)), sleep(5000)]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  let healthy = false;
  for (let i = 0; i < 200 && !healthy; i++) {
    if (server.exitCode !== null) fail(`server exited (${server.exitCode}):\n${log}`);
    try {
      healthy = (await fetch(`${base}/healthz`)).ok;
    } catch {
      /* not yet */
    }
    if (!healthy) await sleep(100);
  }
  if (!healthy) fail(`server did not become healthy:\n${log}`);
  const post = async (body, to = otlpUrl) => {
    const r = await fetch(to, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    if (!r.ok) fail(`OTLP POST to ${to} failed: ${r.status} ${await r.text()}`);
  };
  const waitTrace = async (id, n) => {
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${base}/api/v1/traces/${id}`);
      if (r.ok && (await r.json()).spans.length >= n) return;
      await sleep(100);
    }
    fail(`trace ${id} did not appear with ${n} spans`);
  };
  return { base, otlpUrl, otlpLogsUrl, otlpMetricsUrl, post, waitTrace, stop, log: () => log };
}

/** Launches Debian's Chromium headless (E2E_HEADFUL=1 to watch). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}: install Debian's chromium (\`apt-get install -y chromium\`) or set CHROMIUM`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: process.env.E2E_HEADFUL !== '1',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
