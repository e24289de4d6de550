import { useMemo } from 'preact/hooks';
import { listOperations, serviceGraph, spanMetrics } from '../lib/api';
import { fmtDuration, fmtTime, queryValue } from '../lib/format';
import { Link } from '../lib/links';
import { navigate, setParams } from '../lib/router';
import type { SpanMetrics } from '../lib/types';
import { RangePicker, useRange, WiderRangeLink } from '../search/RangePicker';
import { rangeParams, withParams } from '../search/timerange';
import { ApiBanner } from './ApiBanner';
import { align, type Pick, stepSearchHref } from './chart';
import { servicesHref } from './links';
import { Neighbours } from './Neighbours';
import { fmtPercent, fmtRate, sortOf } from './red';
import { RedTable } from './RedTable';
import { TimeChart } from './TimeChart';
import { TopErrors } from './TopErrors';
import { useApi } from '../lib/useApi';
import { ServiceMetrics } from '../metrics/ServiceMetrics';

/** The functions the charts draw, in this order, and what a step without spans reads as. */
const FNS = ['rate', 'error_rate', 'p50(duration)', 'p95(duration)', 'p99(duration)'] as const;
const EMPTY = [0, null, null, null, null];

/** The query selecting a service's spans (and an environment's). */
function serviceQuery(service: string, env: string): string {
  return [`service_name:${queryValue(service)}`, env ? `environment:${queryValue(env)}` : ''].filter(Boolean).join(' ');
}

/** Rate, errors and latency of the service over time; a click on a point opens its traces. */
function Charts({ service, env, answers }: { service: string; env: string; answers: SpanMetrics[] }) {
  const a = useMemo(() => align(answers, EMPTY), [answers]);
  const [rate, errors, p50, p95, p99] = a.ys;
  const charts = useMemo(
    () => ({
      rate: [{ label: 'spans/s', color: '--ok', values: rate }],
      errors: [{ label: 'errors', color: '--err', values: errors }],
      latency: [
        { label: 'p50', color: '--ok', values: p50 },
        { label: 'p95', color: '--accent', values: p95 },
        { label: 'p99', color: '--crit', values: p99 },
      ],
    }),
    [a],
  );
  const open = (i: number, pick: Pick) => navigate(stepSearchHref(service, a.ts[i], a.stepNs, pick, env));
  return (
    <div class="chart-grid">
      <TimeChart title="Rate" xs={a.xs} series={charts.rate} format={fmtRate} pickHint="the traces of its step" onPick={(i) => open(i, { kind: 'all' })} />
      <TimeChart title="Errors" xs={a.xs} series={charts.errors} format={fmtPercent} pickHint="the failed spans of its step" onPick={(i) => open(i, { kind: 'errors' })} />
      <TimeChart
        title="Latency"
        xs={a.xs}
        series={charts.latency}
        format={fmtDuration}
        pickHint="the spans of its step slower than its p95"
        onPick={(i) => open(i, p95[i] === null ? { kind: 'all' } : { kind: 'slow', atLeastNs: p95[i] as number })}
      />
    </div>
  );
}

/** The totals of the range: one figure per function. */
function Totals({ answers }: { answers: SpanMetrics[] }) {
  const total = (i: number) => answers[i]?.series[0]?.total ?? 0;
  const figures = [
    ['Spans', (answers[0]?.series[0]?.count ?? 0).toLocaleString()],
    ['Rate', fmtRate(total(0))],
    ['Errors', fmtPercent(total(1))],
    ['p50', fmtDuration(total(2))],
    ['p95', fmtDuration(total(3))],
    ['p99', fmtDuration(total(4))],
  ];
  return (
    <dl class="red-totals">
      {figures.map(([k, v]) => (
        <div key={k} data-total={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** One service: its rate, errors and latency over time, its operations, its top error groups and its neighbours on the map. */
export function ServicePage({ service, params }: { service: string; params: URLSearchParams }) {
  const env = params.get('environment') ?? '';
  const sort = sortOf(params);
  const { range, startS, endS, refresh } = useRange(params);
  const query = serviceQuery(service, env);
  const metrics = useApi((signal) => Promise.all(FNS.map((fn) => spanMetrics({ query, fn, start: startS, end: endS }, signal))), [query, startS, endS]);
  const ops = useApi((signal) => listOperations(service, { start: startS, end: endS, environment: env || undefined, sort }, signal), [service, startS, endS, env, sort]);
  const graph = useApi((signal) => serviceGraph({ start: startS, end: endS, environment: env || undefined }, signal), [startS, endS, env]);
  const carry = { ...rangeParams(range), environment: env };
  const searchCarry = rangeParams(range);
  return (
    <main class="page service-page">
      <p class="page-up">
        <Link href={servicesHref(carry)}>Services</Link> /
      </p>
      <h1 class="page-title">{service}</h1>
      <div class="search-controls">
        {env && <span class="hint">Environment {env}</span>}
        <RangePicker range={range} refresh={refresh} />
        <Link href={withParams('/', { query, ...searchCarry })} class="btn">
          Search its traces
        </Link>
      </div>
      <ApiBanner error={metrics.error} what="the service's metrics" />
      {metrics.data &&
        ((metrics.data[0]?.series[0]?.count ?? 0) === 0 ? (
          <div class="empty-state">
            <h2>No spans</h2>
            <p>
              No span of <code>{service}</code> arrived between {fmtTime(range.start)} and {fmtTime(range.end)}. <WiderRangeLink>Look at the last 7 days</WiderRangeLink>.
            </p>
          </div>
        ) : (
          <>
            <Totals answers={metrics.data} />
            <Charts service={service} env={env} answers={metrics.data} />
          </>
        ))}
      <h2 class="section-title">Its metrics</h2>
      <ServiceMetrics service={service} window={{ start: startS, end: endS }} carry={searchCarry} />
      <h2 class="section-title">Operations</h2>
      <ApiBanner error={ops.error} what="the operations" />
      {ops.data?.operations.length === 0 && <p class="hint">No operations in the range.</p>}
      {ops.data && ops.data.operations.length > 0 && (
        <RedTable
          label={`Operations of ${service}`}
          nameHeader="Operation"
          extraHeaders={['Kind']}
          rows={ops.data.operations.map((o) => ({
            key: `${o.kind} ${o.name}`,
            label: o.name,
            red: o.red,
            cell: <Link href={withParams('/', { query: `${query} span_name:${queryValue(o.name)}`, ...searchCarry })}>{o.name}</Link>,
            extra: <td>{o.kind}</td>,
          }))}
          window={ops.data}
          sort={sort}
          onSort={(s) => setParams({ sort: s === 'rate' ? null : s }, false)}
        />
      )}
      <h2 class="section-title">Top errors</h2>
      <TopErrors service={service} env={env} start={startS} end={endS} carry={searchCarry} />
      <h2 class="section-title">Neighbours</h2>
      <ApiBanner error={graph.error} what="the service map" />
      {graph.data && <Neighbours service={service} graph={graph.data} carry={carry} seconds={(range.end - range.start) / 1e9} />}
    </main>
  );
}
