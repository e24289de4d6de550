/** SVG paths of a sparkline: the line through the points and the area under it. */
export interface SparkPaths {
  line: string;
  area: string;
  /** Coordinates of the highest point (drawn as a dot), or null for an empty series. */
  peak: { x: number; y: number } | null;
}

const r = (x: number) => Math.round(x * 100) / 100;

/**
 * A sparkline of `values` in a `w`×`h` box with `pad` units kept free at the top and bottom.
 * Points are evenly spaced; a zero series lies on the baseline; one value is a flat line. A
 * value above zero stands at least `lift` units above the baseline, so that one error beside
 * a hundred still shows.
 */
export function sparklinePath(values: number[], w: number, h: number, pad = 1, lift = 0): SparkPaths {
  if (values.length === 0) return { line: '', area: '', peak: null };
  const max = Math.max(0, ...values);
  const base = h - pad;
  const yOf = (v: number) => (max > 0 && v > 0 ? base - Math.max(lift, (v / max) * (h - 2 * pad)) : base);
  const pts = values.length === 1 ? [[0, yOf(values[0])], [w, yOf(values[0])]] : values.map((v, i) => [(i / (values.length - 1)) * w, yOf(v)]);
  const line = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${r(x)} ${r(y)}`).join(' ');
  const area = `${line} L${r(w)} ${r(base)} L0 ${r(base)} Z`;
  let peak: SparkPaths['peak'] = null;
  if (max > 0) {
    const i = values.indexOf(max);
    const [x, y] = values.length === 1 ? [w / 2, yOf(max)] : pts[i];
    peak = { x: r(x), y: r(y) };
  }
  return { line, area, peak };
}
