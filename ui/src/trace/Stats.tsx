import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, getTraceStats } from '../lib/api';
import { fmtDuration } from '../lib/format';
import type { StatsRow, TraceStats } from '../lib/types';
import type { TraceTree } from './model';

/** Spans picked from a row of the statistics: a label for them and their node keys. */
export interface StatsPick {
  label: string;
  keys: Set<string>;
}

interface Props {
  traceId: string;
  tree: TraceTree;
  by: string;
  then: string | null;
  onKeys: (by: string, then: string | null) => void;
  onPick: (pick: StatsPick) => void;
}

type Col = 'count' | 'total_ns' | 'avg_ns' | 'min_ns' | 'max_ns' | 'self_ns' | 'self_share';
const COLS: Array<[Col, string]> = [
  ['count', 'Count'],
  ['total_ns', 'Total'],
  ['avg_ns', 'Avg'],
  ['min_ns', 'Min'],
  ['max_ns', 'Max'],
  ['self_ns', 'Self time'],
  ['self_share', 'Self % of trace'],
];

const fmtCell = (g: StatsRow, c: Col) => (c === 'count' ? String(g.count) : c === 'self_share' ? `${(g.self_share * 100).toFixed(1)}%` : fmtDuration(g[c]));
const valueText = (v: string | null | undefined) => v ?? '(none)';

/** The trace's statistics (computed by the server) as a sortable table; a row picks its spans for the waterfall. */
export function Stats({ traceId, tree, by, then, onKeys, onPick }: Props) {
  const [stats, setStats] = useState<TraceStats | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [sort, setSort] = useState<{ col: Col; desc: boolean }>({ col: 'self_ns', desc: true });

  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    getTraceStats(traceId, by, then, ctl.signal)
      .then(setStats)
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e as ApiError);
      });
    return () => ctl.abort();
  }, [traceId, by, then]);

  // Keys to suggest: the intrinsic ones and every attribute key of the trace.
  const suggestions = useMemo(() => {
    const keys = new Set<string>();
    for (const n of tree.ordered) {
      if (n.missing) continue;
      for (const k of Object.keys(n.span.attributes ?? {})) keys.add(k);
      for (const k of Object.keys(n.span.resource_attributes ?? {})) keys.add(k);
    }
    return ['service', 'name', ...[...keys].sort()];
  }, [tree]);

  const order = <T extends StatsRow>(groups: T[]): T[] => {
    const sign = sort.desc ? -1 : 1;
    return [...groups].sort((a, b) => sign * (a[sort.col] - b[sort.col]));
  };
  const pick = (label: string, g: StatsRow) => onPick({ label, keys: new Set(g.span_indexes.map((i) => tree.keys[i]).filter((k) => k !== undefined)) });

  const row = (g: StatsRow, label: string, sub: boolean) => (
    <tr key={label} class={`peekable${sub ? ' sub' : ''}`} data-group={label} onClick={() => pick(label, g)} title="Show these spans in the waterfall">
      <td class="name-cell" style={{ paddingLeft: sub ? '26px' : undefined }}>
        {valueText(g.value)}
      </td>
      {COLS.map(([c]) => (
        <td key={c} class={`num mono${c === 'self_share' ? ' dur-cell' : ''}`}>
          {c === 'self_share' && <span class="dur-bar" style={{ width: `${Math.max(1, g.self_share * 100)}%` }} />}
          {fmtCell(g, c)}
        </td>
      ))}
    </tr>
  );

  return (
    <div class="stats" data-testid="trace-stats">
      <form
        class="stats-keys"
        onSubmit={(e) => {
          // Enter commits both keys at once (a datalist popup may swallow the change event). The
          // inputs are uncontrolled (remounted when the committed keys change), so a re-render
          // while the stats load never wipes what is being typed.
          e.preventDefault();
          const field = (name: string) => ((e.currentTarget as HTMLFormElement).elements.namedItem(name) as HTMLInputElement).value.trim();
          onKeys(field('by') || 'service', field('then') || null);
        }}
      >
        <datalist id="stats-keys">
          {suggestions.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        <label>
          Group by{' '}
          <input id="stats-by" name="by" list="stats-keys" key={`by-${by}`} defaultValue={by} onChange={(e) => onKeys((e.target as HTMLInputElement).value.trim() || 'service', then)} />
        </label>
        <label>
          then by{' '}
          <input id="stats-then" name="then" list="stats-keys" placeholder="(none)" key={`then-${then ?? ''}`} defaultValue={then ?? ''} onChange={(e) => onKeys(by, (e.target as HTMLInputElement).value.trim() || null)} />
        </label>
      </form>
      {error && <p class="err-text">{error.message}</p>}
      {stats && (
        <div class="stats-scroll">
          <table class="results stats-table" aria-label="Trace statistics">
            <thead>
              <tr>
                <th>{by}{then ? ` › ${then}` : ''}</th>
                {COLS.map(([c, label]) => (
                  <th key={c} class="num" aria-sort={sort.col === c ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                    <button type="button" class="th-btn" data-col={c} onClick={() => setSort({ col: c, desc: sort.col === c ? !sort.desc : true })}>
                      {label}
                      {sort.col === c ? (sort.desc ? ' ↓' : ' ↑') : ''}
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {order(stats.groups).flatMap((g) => {
                const label = `${by} = ${valueText(g.value)}`;
                return [row(g, label, false), ...order(g.subgroups).map((s) => row(s, `${label}, ${then} = ${valueText(s.value)}`, true))];
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
