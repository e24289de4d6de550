import { sparklinePath } from './sparkline';

/**
 * A small trend chart of per-bucket counts, labelled for screen readers. `stretch` fills the
 * width of its container (CSS sets the size) instead of keeping the aspect ratio; `lift` is
 * the least height of a value above zero.
 */
export function Sparkline({ values, width = 120, height = 28, label, stretch = false, lift = 0 }: { values: number[]; width?: number; height?: number; label: string; stretch?: boolean; lift?: number }) {
  const p = sparklinePath(values, width, height, 2, lift);
  const total = values.reduce((a, b) => a + b, 0);
  return (
    <svg class="sparkline" role="img" aria-label={`${label}: ${total} over ${values.length} intervals, peak ${Math.max(0, ...values)}`} width={width} height={height} viewBox={`0 0 ${width} ${height}`} preserveAspectRatio={stretch ? 'none' : undefined}>
      <path class="spark-area" d={p.area} />
      <path class="spark-line" d={p.line} />
      {p.peak && !stretch && <circle class="spark-peak" cx={p.peak.x} cy={p.peak.y} r="2" />}
    </svg>
  );
}
