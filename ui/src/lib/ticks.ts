/** A "nice" step (1, 2 or 5 times a power of ten) that cuts `span` into about `count` pieces. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || count < 1) return 1;
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
}

/** Evenly spaced tick values at a nice step within [from, to] (offsets, e.g. ns into a trace). */
export function niceTicks(from: number, to: number, count: number): number[] {
  const step = niceStep(to - from, count);
  const out: number[] = [];
  for (let v = Math.ceil(from / step) * step; v <= to + step * 1e-9; v += step) out.push(v);
  return out;
}
