import { useMemo } from 'preact/hooks';
import { metricNames, metricQuery } from '../lib/api';
import { fmtTime } from '../lib/format';
import { Link } from '../lib/links';
import { setParams } from '../lib/router';
import type { MetricName, OtelMetrics, QueryErrorInfo } from '../lib/types';
import { useApi } from '../lib/useApi';
import { QueryBar } from '../search/QueryBar';
import { RangePicker, useRange, WiderRangeLink } from '../search/RangePicker';
import { iso, rangeParams } from '../search/timerange';
import { ApiBanner } from '../services/ApiBanner';
import { MAX_LINES } from './chart';
import { MetricChart } from './MetricChart';
import { labelSource, METRIC_INTRINSICS } from './labels';
import { metricKind, MetricPicker } from './MetricPicker';
import { effectiveFn, explorerHref, type ExplorerState, readState, STEPS, stateParams } from './state';
import { answerFormats } from './units';
import { GroupBy, SeriesTable } from './parts';

/** The function picker: the functions that apply to the metric's type, as the names answer lists them. */
function FnPicker({ metric, fn }: { metric: MetricName; fn: string }) {
  return (
    <label class="control">
      Function{' '}
      <select value={fn} onChange={(e) => setParams(stateParams({ fn: (e.target as HTMLSelectElement).value }), false)}>
        {metric.functions.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </select>
    </label>
  );
}

/** What the picked metric is, and why the function asked for in the URL is not the one drawn. */
function About({ metric, asked, fn }: { metric: MetricName; asked: string; fn: string }) {
  return (
    <p class="hint metric-about">
      <span class="badge">{metricKind(metric)}</span> {metric.description}
      {asked && asked !== fn && (
        <span role="status">
          {' '}
          · {asked} does not apply to a {metric.type.replace('_', ' ')} metric: showing {fn}.
        </span>
      )}
    </p>
  );
}

function StepPicker({ step }: { step: string }) {
  return (
    <label class="control">
      Step{' '}
      <select value={step} onChange={(e) => setParams(stateParams({ step: (e.target as HTMLSelectElement).value }), false)}>
        <option value="">auto</option>
        {STEPS.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}

/** What the page shows before a metric is picked: the project's metrics as links, or how to send some. */
function Catalogue({ metrics, carry }: { metrics: MetricName[]; carry: Record<string, string> }) {
  if (metrics.length === 0) {
    return (
      <div class="empty-state">
        <h2>No metrics in the range</h2>
        <p>
          Send OTLP metrics to <code>/v1/metrics</code> (HTTP) or the OTLP gRPC port, or <WiderRangeLink>look at the last 7 days</WiderRangeLink>.
        </p>
      </div>
    );
  }
  return (
    <section aria-label="The project's metrics">
      <p class="hint">Pick a metric above, or one of these.</p>
      <ul class="metric-catalogue">
        {metrics.map((m) => (
          <li key={m.name}>
            <Link href={explorerHref({ metric: m.name }, carry)} class="mono">
              {m.name}
            </Link>{' '}
            <span class="badge">{metricKind(m)}</span> <span class="hint">{m.description}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The chart of an answer, its series with their totals, and its exemplars; or why there is nothing to draw. */
function Answer({ answer, state, fn, range }: { answer: OtelMetrics; state: ExplorerState; fn: string; range: { start: number; end: number } }) {
  const { format } = answerFormats(answer, fn);
  if (answer.series.length === 0) {
    return (
      <div class="empty-state">
        <h2>No points</h2>
        <p>
          No point of <code>{state.metric}</code>
          {state.filter && (
            <>
              {' '}
              matches <code>{state.filter}</code>
            </>
          )}{' '}
          between {fmtTime(range.start)} and {fmtTime(range.end)}.{' '}
          {state.filter ? (
            <button type="button" class="btn" onClick={() => setParams({ filter: null }, false)}>
              Remove the filter
            </button>
          ) : (
            <WiderRangeLink>Look at the last 7 days</WiderRangeLink>
          )}
        </p>
      </div>
    );
  }
  const more = answer.series.length > MAX_LINES || answer.series_truncated;
  return (
    <>
      <MetricChart
        answer={answer}
        fn={fn}
        height={260}
        pickHint="the chart narrowed to its step"
        onPick={(start, end) => setParams({ range: null, start: iso(start), end: iso(end) }, false)}
      />
      {more && (
        <p class="hint">
          The {Math.min(MAX_LINES, answer.series.length)} series with the most points are drawn, of {answer.series.length}
          {answer.series_truncated ? '+' : ''}: filter or group by fewer labels to see the others.
        </p>
      )}
      <SeriesTable answer={answer} format={format} fn={fn} />
    </>
  );
}

/** The Metrics explorer: one OTLP metric, filtered by labels, a function of it per step, grouped by labels. Every choice is in the URL. */
export function MetricsPage({ params }: { params: URLSearchParams }) {
  const state = readState(params);
  const { range, startS, endS, refresh } = useRange(params);
  const names = useApi((signal) => metricNames({ start: startS, end: endS }, signal), [startS, endS]);
  const metric = names.data?.metrics.find((m) => m.name === state.metric) ?? null;
  const fn = metric ? effectiveFn(state.fn, metric) : '';
  const by = state.by.join(',');
  const answer = useApi(
    (signal) => (metric ? metricQuery({ metric: metric.name, filter: state.filter || undefined, fn, by: by || undefined, step: state.step || undefined, start: startS, end: endS }, signal) : Promise.resolve(null)),
    [metric?.name, state.filter, fn, by, state.step, startS, endS],
  );
  const source = useMemo(() => labelSource(state.metric, { start: startS, end: endS }), [state.metric, startS, endS]);
  const filterError: QueryErrorInfo | null = answer.error?.status === 400 && answer.error.info.start !== undefined ? answer.error.info : null;
  const carry = rangeParams(range);
  return (
    <main class="page metrics-page">
      <h1 class="page-title">Metrics</h1>
      <div class="search-controls">
        <RangePicker range={range} refresh={refresh} />
        <StepPicker step={state.step} />
      </div>
      <ApiBanner error={names.error} what="the metrics" />
      {names.data && (
        <div class="metric-controls">
          <MetricPicker key={state.metric} metrics={names.data.metrics} value={state.metric} onPick={(name) => setParams(stateParams({ metric: name, fn: '', by: [] }), false)} />
          {metric && <FnPicker metric={metric} fn={fn} />}
          {metric && <GroupBy metric={metric.name} by={state.by} window={{ start: startS, end: endS }} />}
        </div>
      )}
      {metric && <About metric={metric} asked={state.fn} fn={fn} />}
      {state.metric && (
        <QueryBar
          value={state.filter}
          error={filterError}
          source={source}
          intrinsics={METRIC_INTRINSICS}
          label="Label filter"
          action="Apply"
          placeholder="Filter by labels, e.g. route:/checkout resource.host.name:web-1 service:shop"
          onSubmit={(q) => setParams(stateParams({ filter: q }), false)}
        />
      )}
      {names.data && !state.metric && <Catalogue metrics={names.data.metrics} carry={carry} />}
      {names.data && state.metric && !metric && (
        <div class="empty-state">
          <h2>No metric {state.metric} in the range</h2>
          <p>
            Pick another metric above, or <WiderRangeLink>look at the last 7 days</WiderRangeLink>.
          </p>
        </div>
      )}
      {!filterError && <ApiBanner error={answer.error} what="the metric" />}
      {answer.data && <Answer answer={answer.data} state={state} fn={fn} range={range} />}
    </main>
  );
}
