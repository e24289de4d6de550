import { useEffect, useState } from 'preact/hooks';
import { ApiError, compareTraces } from '../lib/api';
import { fmtDuration, serviceColor, serviceTint } from '../lib/format';
import { Link, traceHref } from '../lib/links';
import { navigate, setParams } from '../lib/router';
import type { CompareRow, TraceComparison } from '../lib/types';
import { flameLayout, type FlameTree } from './flame';

/** `/traces/compare?a=&b=`: trace `b` aligned with trace `a` by the server, as a waterfall. */
export function ComparePage({ params }: { params: URLSearchParams }) {
  const a = params.get('a') ?? '';
  const b = params.get('b') ?? '';
  const [data, setData] = useState<TraceComparison | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    if (!a || !b) return;
    const ctl = new AbortController();
    setData(null);
    setError(null);
    compareTraces(a, b, ctl.signal)
      .then(setData)
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e as ApiError);
      });
    return () => ctl.abort();
  }, [a, b]);

  return (
    <main class="page compare-page">
      <h1>Compare traces</h1>
      <ComparePicker a={a} b={b} />
      {error && (
        <p class="banner err" role="alert">
          {error.message}
        </p>
      )}
      {a && b && !data && !error && <p class="hint">Aligning the traces…</p>}
      {data && <Aligned a={a} b={b} data={data} form={params.get('form') === 'flame' ? 'flame' : 'waterfall'} />}
    </main>
  );
}

const isTraceId = (s: string) => /^[0-9a-f]{32}$/.test(s);
const norm = (s: string) => s.trim().toLowerCase().replace(/[\s-]/g, '');

/** The two trace ids, editable, with a swap. */
function ComparePicker({ a, b }: { a: string; b: string }) {
  const [ta, setA] = useState(a);
  const [tb, setB] = useState(b);
  useEffect(() => {
    setA(a);
    setB(b);
  }, [a, b]);
  const go = (x: string, y: string) => navigate(`/traces/compare?a=${encodeURIComponent(x)}&b=${encodeURIComponent(y)}`);
  const ok = isTraceId(norm(ta)) && isTraceId(norm(tb));
  return (
    <form
      class="compare-picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (ok) go(norm(ta), norm(tb));
      }}
    >
      <label>
        A (baseline){' '}
        <input id="compare-a" class="mono" value={ta} placeholder="trace id" onInput={(e) => setA((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        B{' '}
        <input id="compare-b" class="mono" value={tb} placeholder="trace id" onInput={(e) => setB((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" class="btn primary" disabled={!ok}>
        Compare
      </button>
      <button type="button" class="btn" disabled={!a || !b} onClick={() => go(b, a)} title="Make B the baseline">
        Swap
      </button>
    </form>
  );
}

/** Colour of a difference: red when B is slower, green when faster, stronger for larger ones. */
function diffStyle(diff: number | null | undefined, largest: number): Record<string, string> {
  if (!diff || !largest) return {};
  const alpha = 0.15 + 0.55 * Math.min(1, Math.abs(diff) / largest);
  return { background: diff > 0 ? `rgba(220, 38, 38, ${alpha})` : `rgba(22, 163, 74, ${alpha})` };
}

const signed = (ns: number | null | undefined) => (ns == null ? '' : ns === 0 ? '±0' : `${ns > 0 ? '+' : '−'}${fmtDuration(Math.abs(ns))}`);

function Aligned({ a, b, data, form }: { a: string; b: string; data: TraceComparison; form: 'waterfall' | 'flame' }) {
  const scale = Math.max(1, data.a_duration_ns, data.b_duration_ns);
  const largestSelf = Math.max(0, ...data.rows.map((r) => Math.abs(r.self_diff_ns ?? 0)));
  const largestDur = Math.max(0, ...data.rows.map((r) => Math.abs(r.duration_diff_ns ?? 0)));
  const bar = (side: CompareRow['a'], cls: string, color?: string) =>
    side && (
      <span
        class={`cmp-bar ${cls}`}
        style={{ left: `${(side.start_offset_ns / scale) * 100}%`, width: `${Math.max(0.2, (side.duration_ns / scale) * 100)}%`, background: color }}
        title={`${cls === 'a' ? 'A' : 'B'}: ${fmtDuration(side.duration_ns)} (self ${fmtDuration(side.self_ns)})`}
      />
    );
  return (
    <>
      <dl class="facts inline" aria-label="Comparison summary">
        <dt>A</dt>
        <dd>
          <Link class="mono" href={traceHref(a)}>
            {a.slice(0, 16)}…
          </Link>{' '}
          {fmtDuration(data.a_duration_ns)}
        </dd>
        <dt>B</dt>
        <dd>
          <Link class="mono" href={traceHref(b)}>
            {b.slice(0, 16)}…
          </Link>{' '}
          {fmtDuration(data.b_duration_ns)} <span style={diffStyle(data.b_duration_ns - data.a_duration_ns, Math.max(data.a_duration_ns, data.b_duration_ns))}>({signed(data.b_duration_ns - data.a_duration_ns)})</span>
        </dd>
        <dt>Added subtrees</dt>
        <dd data-testid="added-subtrees">{data.added_subtrees}</dd>
        <dt>Missing subtrees</dt>
        <dd data-testid="missing-subtrees">{data.missing_subtrees}</dd>
      </dl>
      <div class="seg-group" role="tablist" aria-label="Comparison view">
        <button type="button" role="tab" aria-selected={form === 'waterfall'} class={`btn seg${form === 'waterfall' ? ' on' : ''}`} onClick={() => setParams({ form: null })}>
          Waterfall
        </button>
        <button type="button" role="tab" aria-selected={form === 'flame'} class={`btn seg${form === 'flame' ? ' on' : ''}`} onClick={() => setParams({ form: 'flame' })}>
          Flame graph
        </button>
      </div>
      {form === 'flame' ? (
        <CompareFlame data={data} scale={scale} largestSelf={largestSelf} />
      ) : (
        <div class="table-scroll">
          <table class="results cmp-table" aria-label="Aligned spans">
            <thead>
              <tr>
                <th>Span</th>
                <th class="cmp-time">Timeline (A above, B below)</th>
                <th class="num">A</th>
                <th class="num">B</th>
                <th class="num">Δ duration</th>
                <th class="num">Δ self time</th>
              </tr>
            </thead>
            <tbody>
              {data.rows.map((r, i) => (
                <tr key={i} class={`cmp-row ${r.presence}`} data-presence={r.presence} data-name={r.name}>
                  <td class="name-cell" style={{ paddingLeft: `${10 + r.depth * 14}px` }}>
                    <i class="dot" style={{ background: serviceColor(r.service) }} />
                    {r.name} <span class="wf-service">{r.service}</span>
                    {r.subtree_root && <span class={`badge ${r.presence}`}>{r.presence === 'added' ? 'added in B' : 'missing in B'}</span>}
                  </td>
                  <td class="cmp-time">
                    {bar(r.a, 'a')}
                    {bar(r.b, 'b', serviceColor(r.service))}
                  </td>
                  <td class="num mono">{r.a ? fmtDuration(r.a.duration_ns) : '–'}</td>
                  <td class="num mono">{r.b ? fmtDuration(r.b.duration_ns) : '–'}</td>
                  <td class="num mono" data-col="duration" style={diffStyle(r.duration_diff_ns, largestDur)}>
                    {signed(r.duration_diff_ns)}
                  </td>
                  <td class="num mono" data-col="self" style={diffStyle(r.self_diff_ns, largestSelf)}>
                    {signed(r.self_diff_ns)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** A row of the alignment as a box of the flame graph, with its aligned children. */
export interface CmpNode {
  row: CompareRow;
  start: number;
  end: number;
  children: CmpNode[];
}

const cmpTree: FlameTree<CmpNode> = { time: (n) => [n.start, n.end], children: (n) => n.children };

/** The depth-first rows as trees; a box takes B's time, or A's for a span only A has. */
export function alignedTrees(rows: CompareRow[]): CmpNode[] {
  const tops: CmpNode[] = [];
  const path: CmpNode[] = [];
  for (const row of rows) {
    const side = row.b ?? row.a;
    if (!side) continue;
    const n = { row, start: side.start_offset_ns, end: side.start_offset_ns + side.duration_ns, children: [] };
    path.length = row.depth;
    (row.depth > 0 && path[row.depth - 1] ? path[row.depth - 1].children : tops).push(n);
    path.push(n);
  }
  return tops;
}

const FLAME_ROW = 22;

/** The alignment as an icicle: B's spans on B's timeline (A's missing ones at A's times, hatched), coloured by the self-time difference. */
function CompareFlame({ data, scale, largestSelf }: { data: TraceComparison; scale: number; largestSelf: number }) {
  const { boxes, rows } = flameLayout(alignedTrees(data.rows), cmpTree);
  return (
    <div class="flame cmp-flame">
      <div class="flame-body" role="group" aria-label="Aligned flame graph" style={{ height: `${rows * FLAME_ROW + 4}px` }}>
        {boxes.map(({ node: n, row }, i) => {
          const r = n.row;
          const tint = diffStyle(r.self_diff_ns, largestSelf).background ?? serviceTint(r.service);
          return (
            <div
              key={i}
              class={`flame-node cmp-${r.presence}${r.presence === 'missing' ? ' missing' : ''}`}
              data-name={r.name}
              data-presence={r.presence}
              title={`${r.name} (${r.service}) A ${r.a ? fmtDuration(r.a.duration_ns) : '–'} · B ${r.b ? fmtDuration(r.b.duration_ns) : '–'} · Δ self ${signed(r.self_diff_ns) || '–'}`}
              style={{
                left: `${(n.start / scale) * 100}%`,
                width: `${Math.max(0.2, ((n.end - n.start) / scale) * 100)}%`,
                top: `${row * FLAME_ROW}px`,
                background: r.presence === 'missing' ? undefined : tint,
                borderColor: r.presence === 'added' ? '#16a34a' : serviceColor(r.service),
              }}
            >
              {r.name}
            </div>
          );
        })}
      </div>
    </div>
  );
}
