import type { ComponentChildren } from 'preact';
import { Sparkline } from '../errors/Sparkline';
import { fmtDuration } from '../lib/format';
import type { Red } from '../lib/types';
import { fmtPercent, fmtRate, type RedSort, sparkValues } from './red';

/** One row of a RED table: what it is (a link, usually) and its numbers. */
export interface RedRow {
  key: string;
  /** Its name as text (for labels). */
  label: string;
  cell: ComponentChildren;
  red: Red;
  /** Extra cells after the name (an operation's kind). */
  extra?: ComponentChildren;
}

interface Props {
  label: string;
  nameHeader: string;
  /** Headers of the `extra` cells. */
  extraHeaders?: string[];
  rows: RedRow[];
  window: { start_ns: number; end_ns: number; step_ns: number };
  sort: RedSort;
  onSort: (s: RedSort) => void;
}

const COLUMNS: Array<{ id: RedSort; label: string; title: string; text: (r: Red) => string; value: (r: Red) => number }> = [
  { id: 'rate', label: 'Rate', title: 'Spans per second over the range', text: (r) => fmtRate(r.rate), value: (r) => r.rate },
  { id: 'error_rate', label: 'Errors', title: 'Share of spans with an error', text: (r) => fmtPercent(r.error_rate), value: (r) => r.error_rate },
  { id: 'p50', label: 'p50', title: 'Median duration', text: (r) => fmtDuration(r.p50), value: (r) => r.p50 },
  { id: 'p95', label: 'p95', title: '95th percentile duration', text: (r) => fmtDuration(r.p95), value: (r) => r.p95 },
  { id: 'p99', label: 'p99', title: '99th percentile duration', text: (r) => fmtDuration(r.p99), value: (r) => r.p99 },
];

/** A sortable header; the API sorts, so a click writes the order to the URL. */
function SortHeader({ id, label, title, sort, onSort, num = true }: { id: RedSort; label: string; title?: string; sort: RedSort; onSort: (s: RedSort) => void; num?: boolean }) {
  const on = sort === id;
  return (
    <th class={num ? 'num' : undefined} aria-sort={on ? (id === 'name' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" class="th-btn" title={title} onClick={() => onSort(id)}>
        {label}
        {on ? (id === 'name' ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );
}

/** Rows with rate, error share and latency percentiles, and sparklines of spans and p95 over the range. */
export function RedTable({ label, nameHeader, extraHeaders = [], rows, window: w, sort, onSort }: Props) {
  const spark = (r: Red, pick: (p: Red['sparkline'][number]) => number) => sparkValues(r.sparkline, w.start_ns, w.end_ns, w.step_ns, pick);
  return (
    <div class="table-scroll">
      <table class="results red-table" aria-label={label}>
        <thead>
          <tr>
            <SortHeader id="name" label={nameHeader} sort={sort} onSort={onSort} num={false} />
            {extraHeaders.map((h) => (
              <th key={h}>{h}</th>
            ))}
            {COLUMNS.map((c) => (
              <SortHeader key={c.id} id={c.id} label={c.label} title={c.title} sort={sort} onSort={onSort} />
            ))}
            <th>Spans over time</th>
            <th>p95 over time</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key} data-row={row.key} data-count={row.red.count} class={row.red.error_rate > 0 ? 'row-err' : undefined}>
              <td class="name-cell">{row.cell}</td>
              {row.extra}
              {COLUMNS.map((c) => (
                <td key={c.id} class={`num nowrap${c.id === 'error_rate' && row.red.error_rate > 0 ? ' err-text' : ''}`} data-col={c.id} data-value={c.value(row.red)}>
                  {c.text(row.red)}
                </td>
              ))}
              <td>
                <Sparkline values={spark(row.red, (p) => p.count)} width={90} height={24} label={`Spans of ${row.label} per step`} />
              </td>
              <td>
                <Sparkline values={spark(row.red, (p) => Math.round(p.p95 / 1e5) / 10)} width={90} height={24} label={`p95 of ${row.label} in ms per step`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
