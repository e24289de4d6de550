import { useMemo, useState } from 'preact/hooks';
import { spanMetrics } from '../lib/api';
import { serviceColor } from '../lib/format';
import { setParams } from '../lib/router';
import { useApi } from '../lib/useApi';
import { alignSeries } from '../services/chart';
import { type ChartSeries, TimeChart } from '../services/TimeChart';
import { CHART_FNS, chartFn, seriesName, SPLIT_KEYS, splitKeys } from './querychart';

/** Series drawn at most (the API answers the ones with the most spans first). */
const MAX_LINES = 8;

interface Props {
  query: string;
  start: string;
  end: string;
  /** `chart` and `chart_by` of the URL. */
  fn: string | null;
  by: string | null;
  onZoom: (startNs: number, endNs: number) => void;
}

/** The split-by box: keys typed or picked, written to the URL on Enter or when left. */
function SplitBy({ by }: { by: string }) {
  const [text, setText] = useState(by);
  const commit = () => text.trim() !== by && setParams({ chart_by: text.trim() || null }, false);
  return (
    <label class="chart-by">
      Split by{' '}
      <input
        list="chart-by-keys"
        value={text}
        placeholder="service, http.route…"
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
      <datalist id="chart-by-keys">
        {SPLIT_KEYS.map((k) => (
          <option key={k} value={k} />
        ))}
      </datalist>
    </label>
  );
}

/**
 * The search's chart view: a function of the matching spans over time (count, rate, error rate
 * or a duration percentile, from /api/v1/metrics/spans), split by keys; a click on a step
 * narrows the search to it.
 */
export function QueryChart({ query, start, end, fn: fnName, by: byText, onZoom }: Props) {
  const fn = chartFn(fnName);
  const by = splitKeys(byText);
  const { data, error } = useApi((signal) => spanMetrics({ query, fn: fn.fn, by: by.join(',') || undefined, start, end }, signal), [query, fn.fn, by.join(','), start, end]);
  const chart = useMemo(() => {
    if (!data) return null;
    const a = alignSeries(data, fn.empty);
    const series: ChartSeries[] = data.series.slice(0, MAX_LINES).map((s, i) => {
      const label = seriesName(s.labels);
      return { label, color: by.length ? serviceColor(label) : '--ok', values: a.ys[i] };
    });
    return { a, series };
  }, [data]);
  return (
    <section class="query-chart" aria-label="Matching spans over time, as a chart">
      <div class="chart-controls">
        <label>
          Show{' '}
          <select value={fn.fn} onChange={(e) => setParams({ chart: (e.target as HTMLSelectElement).value }, false)}>
            {CHART_FNS.map((f) => (
              <option key={f.fn} value={f.fn}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        <SplitBy key={byText ?? ''} by={byText ?? ''} />
        {data && data.series.length > MAX_LINES && (
          <span class="hint">
            the {MAX_LINES} series with the most spans of {data.series.length}
            {data.series_truncated ? '+' : ''}
          </span>
        )}
        {data?.source === 'scan' && <span class="hint">read from the matching spans (at most {data.max_scan_spans.toLocaleString()})</span>}
      </div>
      {error && (
        <p class="query-error" role="alert">
          {error.message}
        </p>
      )}
      {chart &&
        (chart.series.length === 0 ? (
          <p class="hint">No span matches in the range.</p>
        ) : (
          <TimeChart title={fn.label} xs={chart.a.xs} series={chart.series} format={fn.format} pickHint="the search narrowed to its step" onPick={(i) => onZoom(chart.a.ts[i], chart.a.ts[i] + chart.a.stepNs)} />
        ))}
    </section>
  );
}
