import { useRef, useState } from 'preact/hooks';
import { fmtAxisTime, fmtTime } from '../lib/format';
import type { Bucket } from '../lib/types';

interface Props {
  buckets: Bucket[];
  start: number;
  end: number;
  note?: string;
  onZoom: (start: number, end: number) => void;
}

const H = 110;

export function Histogram({ buckets, start, end, note, onZoom }: Props) {
  const ref = useRef<SVGSVGElement>(null);
  const [brush, setBrush] = useState<{ a: number; b: number } | null>(null);
  const [hover, setHover] = useState<Bucket | null>(null);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const total = buckets.reduce((a, b) => a + b.count, 0);
  const errors = buckets.reduce((a, b) => a + b.error_count, 0);
  const span = Math.max(1, end - start);
  const frac = (t: number) => Math.min(1, Math.max(0, (t - start) / span));

  const xOf = (e: MouseEvent) => {
    const r = ref.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  };

  const ticks = 6;
  return (
    <section class="histogram" aria-label="Matches over time">
      <div class="hist-head">
        <strong>{total.toLocaleString()}</strong> spans
        {errors > 0 && (
          <>
            {' · '}
            <span class="err-text">{errors.toLocaleString()} errors</span>
          </>
        )}
        <span class="legend">
          <i class="sw ok" /> spans <i class="sw err" /> errors
        </span>
        <span class="hint">{hover ? `${fmtTime(hover.start)} — ${hover.count} spans, ${hover.error_count} errors` : 'Drag across the chart to zoom into a range'}</span>
        {note && <span class="hint warn">{note}</span>}
      </div>
      <svg
        ref={ref}
        class="hist-svg"
        role="img"
        aria-label={`Histogram of ${total} matching spans, ${errors} errors`}
        viewBox={`0 0 1000 ${H}`}
        preserveAspectRatio="none"
        onMouseDown={(e) => {
          const x = xOf(e as unknown as MouseEvent);
          setBrush({ a: x, b: x });
        }}
        onMouseMove={(e) => {
          const x = xOf(e as unknown as MouseEvent);
          if (brush) setBrush({ ...brush, b: x });
          const t = start + x * span;
          setHover(buckets.find((b) => b.start <= t && t < b.end) ?? null);
        }}
        onMouseLeave={() => setHover(null)}
        onMouseUp={() => {
          if (brush && Math.abs(brush.b - brush.a) > 0.005) {
            const lo = Math.min(brush.a, brush.b);
            const hi = Math.max(brush.a, brush.b);
            onZoom(Math.round(start + lo * span), Math.round(start + hi * span));
          }
          setBrush(null);
        }}
      >
        {buckets.map((b, i) => {
          const x = frac(b.start) * 1000;
          const w = Math.max(1, (frac(b.end) - frac(b.start)) * 1000 - 1.5);
          const hTotal = (b.count / max) * H;
          const hErr = (b.error_count / max) * H;
          return (
            <g key={i} class="bar">
              {b.count - b.error_count > 0 && <rect class="bar-ok" x={x} y={H - hTotal} width={w} height={hTotal - hErr} />}
              {b.error_count > 0 && <rect class="bar-err" x={x} y={H - hErr} width={w} height={hErr} />}
            </g>
          );
        })}
        <line x1="0" x2="1000" y1={H} y2={H} class="axis-line" />
        {brush && <rect class="brush" x={Math.min(brush.a, brush.b) * 1000} y={0} width={Math.abs(brush.b - brush.a) * 1000} height={H} />}
      </svg>
      <div class="hist-axis" aria-hidden="true">
        {Array.from({ length: ticks }, (_, i) => {
          const t = start + (span * (i + 0.5)) / ticks;
          return (
            <span key={i} style={{ left: `${((i + 0.5) / ticks) * 100}%` }}>
              {fmtAxisTime(t, span)}
            </span>
          );
        })}
      </div>
    </section>
  );
}

/** Client-side buckets from loaded spans, used when the server has no histogram endpoint. */
export function localBuckets(times: Array<{ t: number; err: boolean }>, start: number, end: number, n: number): Bucket[] {
  const w = Math.max(1, (end - start) / n);
  const out: Bucket[] = Array.from({ length: n }, (_, i) => ({ start: start + i * w, end: start + (i + 1) * w, count: 0, error_count: 0 }));
  for (const { t, err } of times) {
    const i = Math.floor((t - start) / w);
    if (i < 0 || i >= n) continue;
    out[i].count++;
    if (err) out[i].error_count++;
  }
  return out;
}
