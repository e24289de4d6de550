import type { Replayer } from '@rrweb/replay';
import { useEffect, useRef, useState } from 'preact/hooks';
import { fmtDuration } from '../lib/format';
import { offsetAt, type RecordedEvent, timeAt } from './replay';

/** A request to move the player to a time (ns); `n` tells two requests for one time apart. */
export interface Seek {
  ns: number;
  n: number;
}

/** rrweb's player (loaded on first use, so other pages do not carry it) with play/pause and a
 * scrubber. It reports its time (ns) through `onTime` as it plays and seeks, and moves to `seek`. */
export function ReplayPlayer({ events, seek, onTime }: { events: RecordedEvent[]; seek: Seek | null; onTime: (ns: number) => void }) {
  const host = useRef<HTMLDivElement>(null);
  const player = useRef<Replayer | null>(null);
  const [playing, setPlaying] = useState(false);
  const [offset, setOffset] = useState(0);
  const [total, setTotal] = useState(0);
  const [failed, setFailed] = useState<string | null>(null);
  const startMs = events[0]?.timestamp ?? 0;
  // A seek asked for before the player loaded is where it starts.
  const pending = useRef(seek);
  pending.current = seek;

  const report = (ms: number) => {
    setOffset(ms);
    onTime(timeAt(ms, startMs));
  };

  useEffect(() => {
    let gone = false;
    let frame = 0;
    Promise.all([import('@rrweb/replay'), import('@rrweb/replay/dist/style.css')])
      .then(([{ Replayer }]) => {
        if (gone || !host.current) return;
        const r = new Replayer(events as never, { root: host.current, mouseTail: false, UNSAFE_replayCanvas: false });
        player.current = r;
        r.iframe.title = 'The recorded page';
        const stage = host.current;
        const meta = events.find((e) => e.type === META)?.data as { width?: number; height?: number } | undefined;
        fit(r, stage, meta?.width, meta?.height);
        r.on('resize', (size) => {
          const { width, height } = size as { width: number; height: number };
          fit(r, stage, width, height);
        });
        const totalTime = r.getMetaData().totalTime;
        setTotal(totalTime);
        r.on('finish', () => setPlaying(false));
        const at = pending.current ? offsetAt(pending.current.ns, startMs, totalTime) : 0;
        r.pause(at > 0 ? Math.min(at + 1, totalTime + 1) : 0);
        report(at);
        // While playing, the page (and its timeline cursor) follows about 20 times a second.
        let shown = 0;
        const tick = () => {
          const now = r.getCurrentTime();
          if (r.service.state.matches('playing') && Math.abs(now - shown) >= 50) {
            shown = now;
            report(now);
          }
          frame = requestAnimationFrame(tick);
        };
        frame = requestAnimationFrame(tick);
      })
      .catch((e) => setFailed(String(e)));
    return () => {
      gone = true;
      cancelAnimationFrame(frame);
      player.current?.destroy();
      player.current = null;
    };
  }, [events]);

  useEffect(() => {
    const r = player.current;
    if (!seek || !r) return;
    moveTo(offsetAt(seek.ns, startMs, total));
  }, [seek]);

  // Events at an offset are applied by a seek past it: the end is reached one ms later.
  const moveTo = (ms: number) => {
    const r = player.current;
    if (!r) return;
    if (playing) r.play(ms);
    else r.pause(Math.min(ms + 1, total + 1));
    report(ms);
  };

  const toggle = () => {
    const r = player.current;
    if (!r) return;
    if (playing) r.pause();
    else r.play(offset >= total ? 0 : offset);
    setPlaying(!playing);
  };

  if (failed) {
    return (
      <div class="banner err" role="alert">
        <strong>Could not play the recording.</strong> {failed}
      </div>
    );
  }
  return (
    <section class="panel replay" aria-label="Session replay">
      <div class="replay-stage" ref={host} />
      <div class="replay-controls">
        <button type="button" class="btn" onClick={toggle} aria-label={playing ? 'Pause' : 'Play'} disabled={!total}>
          {playing ? '❚❚' : '▶'}
        </button>
        <input
          type="range"
          class="replay-scrub"
          aria-label="Replay position"
          min={0}
          max={total}
          step={1}
          value={offset}
          onInput={(e) => moveTo(Number((e.target as HTMLInputElement).value))}
        />
        <span class="mono replay-time" data-testid="replay-time">
          {fmtDuration(offset * 1e6)} / {fmtDuration(total * 1e6)}
        </span>
      </div>
    </section>
  );
}

/** rrweb's meta event: the page's address and viewport size. */
const META = 4;

/** Scales the recorded viewport (`width` × `height`) down to the stage's width and to half the
 * window's height, so the timeline stays in view below it. */
function fit(r: Replayer, stage: HTMLElement, width = 1024, height = 768) {
  const room = Math.max(200, window.innerHeight / 2);
  const scale = Math.min(1, stage.clientWidth / Math.max(1, width), room / Math.max(1, height));
  r.wrapper.style.transform = `scale(${scale})`;
  r.wrapper.style.transformOrigin = 'top left';
  stage.style.height = `${Math.ceil(height * scale)}px`;
}
