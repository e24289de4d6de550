import { metricLabels, type TimeWindow } from '../lib/api';
import { Link } from '../lib/links';
import { setParams } from '../lib/router';
import type { OtelMetrics } from '../lib/types';
import { useApi } from '../lib/useApi';
import { seriesName } from '../search/querychart';
import { exemplarHref, lineColors, MAX_LINES } from './chart';
import { stateParams } from './state';
import { unitFormat } from './units';

/** Most labels a query groups by (the API's bound). */
const MAX_BY = 4;

/** The group-by labels as removable chips, and a picker of the metric's other labels. */
export function GroupBy({ metric, by, window }: { metric: string; by: string[]; window: TimeWindow }) {
  const labels = useApi((signal) => metricLabels(metric, window, signal), [metric, window.start, window.end]);
  const set = (next: string[]) => setParams(stateParams({ by: next }), false);
  const others = (labels.data?.labels ?? []).map((l) => l.key).filter((k, i, all) => !by.includes(k) && all.indexOf(k) === i);
  return (
    <div class="control group-by" role="group" aria-label="Group by">
      <span>Group by</span>
      {by.map((k) => (
        <button key={k} type="button" class="btn chip" aria-label={`Stop grouping by ${k}`} onClick={() => set(by.filter((x) => x !== k))}>
          <span class="mono">{k}</span> ×
        </button>
      ))}
      {by.length < MAX_BY && others.length > 0 && (
        <select aria-label="Add a label to group by" value="" onChange={(e) => set([...by, (e.target as HTMLSelectElement).value])}>
          <option value="">{by.length ? 'add…' : 'nothing (one series)'}</option>
          {others.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      )}
    </div>
  );
}

/** The series of an answer: their colour, labels, the function over the whole range, their points and their newest exemplar's trace. */
export function SeriesTable({ answer, format, fn }: { answer: OtelMetrics; format: (v: number) => string; fn: string }) {
  const measured = unitFormat(answer.unit);
  const colors = lineColors(answer.series.slice(0, MAX_LINES));
  return (
    <div class="table-scroll">
      <table class="results series-table" aria-label="Series">
        <thead>
          <tr>
            <th scope="col">Series</th>
            <th scope="col" class="num">
              {fn} over the range
            </th>
            <th scope="col" class="num">
              Points
            </th>
            <th scope="col">Exemplar</th>
          </tr>
        </thead>
        <tbody>
          {answer.series.map((s, i) => {
            const newest = [...s.exemplars].reverse().find((e) => e.trace_id);
            const href = newest && exemplarHref(newest);
            const color = colors[i];
            return (
              <tr key={seriesName(s.labels)} data-series={seriesName(s.labels)}>
                <td>
                  {color && <i class="swatch" style={{ background: color.startsWith('--') ? `var(${color})` : color }} />} <span class="mono">{seriesName(s.labels)}</span>
                </td>
                <td class="num mono" data-total={s.total ?? ''}>
                  {s.total === null || s.total === undefined ? '–' : format(s.total)}
                </td>
                <td class="num">{s.count.toLocaleString()}</td>
                <td>{href ? <Link href={href}>{measured(newest.value)} · its trace</Link> : <span class="hint">none</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
