import { useRef, useState } from 'preact/hooks';
import { fmtAxisTime, fmtTime } from '../lib/format';
import { timeTicks } from '../lib/ticks';
import { stackSegments, type Series, type StackedBucket } from './stack';

interface Props {
  buckets: StackedBucket[];
  series: Series[];
  /** What is counted, plural ("spans", "logs"). */
  noun: string;
  /** A series worth calling out in the header (errors), with the words for it. */
  emphasis?: { series: number; label: string };
  start: number;
  end: number;
  note?: string;
  onZoom: (start: number, end: number) => void;
}

const H = 110;
/** The least height of a non-empty segment, in chart units (the chart is drawn 1 unit per px high). */
const MIN_SEGMENT = 2;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A stacked count-over-time chart; dragging across it zooms the page's range. */
export function Histogram({ buckets, series, noun, emphasis, start, end, note, onZoom }: Props) {
  const ref = useRef<SVGSVGElement>(null);
  const [brush, setBrush] = useState<{ a: number; b: number } | null>(null);
  const [hover, setHover] = useState<StackedBucket | null>(null);
  const max = Math.max(1, ...buckets.map((b) => sum(b.parts)));
  const totals = series.map((_, i) => buckets.reduce((a, b) => a + (b.parts[i] ?? 0), 0));
  const total = sum(totals);
  const span = Math.max(1, end - start);
  const frac = (t: number) => Math.min(1, Math.max(0, (t - start) / span));
  const breakdown = (parts: number[]) =>
    series
      .map((s, i) => ({ s, n: parts[i] ?? 0 }))
      .filter((x) => x.n > 0)
      .map((x) => `${x.n.toLocaleString()} ${x.s.label}`)
      .join(', ');

  const xOf = (e: MouseEvent) => {
    const r = ref.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  };

  const ticks = 6;
  const emphasised = emphasis === undefined ? 0 : (totals[emphasis.series] ?? 0);
  return (
    <section class="histogram" aria-label="Matches over time">
      <div class="hist-head">
        <strong>{total.toLocaleString()}</strong> {noun}
        {emphasis !== undefined && emphasised > 0 && (
          <>
            {' · '}
            <span class="err-text">
              {emphasised.toLocaleString()} {emphasis.label}
            </span>
          </>
        )}
        <span class="legend">
          {series.map((s) => (
            <span key={s.cls} class="legend-item">
              <i class={`sw ${s.cls}`} /> {s.label}
            </span>
          ))}
        </span>
        <span class="hint">{hover ? `${fmtTime(hover.start)} — ${breakdown(hover.parts) || `0 ${noun}`}` : 'Drag across the chart to zoom into a range'}</span>
        {note && <span class="hint warn">{note}</span>}
      </div>
      <svg
        ref={ref}
        class="hist-svg"
        role="img"
        aria-label={`Histogram of ${total} matching ${noun}${total ? `: ${breakdown(totals)}` : ''}`}
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
          return (
            <g key={i} class="bar">
              {stackSegments(b.parts, max, H, MIN_SEGMENT).map((seg) => (
                <rect key={seg.series} class={series[seg.series].cls} x={x} y={seg.y} width={w} height={seg.h} />
              ))}
            </g>
          );
        })}
        <line x1="0" x2="1000" y1={H} y2={H} class="axis-line" />
        {brush && <rect class="brush" x={Math.min(brush.a, brush.b) * 1000} y={0} width={Math.abs(brush.b - brush.a) * 1000} height={H} />}
      </svg>
      <div class="hist-axis" aria-hidden="true">
        {timeTicks(start, end, ticks)
          .filter((t) => frac(t) > 0.03 && frac(t) < 0.97)
          .map((t) => (
          <span key={t} style={{ left: `${frac(t) * 100}%` }}>
            {fmtAxisTime(t, span)}
          </span>
        ))}
      </div>
    </section>
  );
}
