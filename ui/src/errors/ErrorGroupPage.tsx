import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorGroup } from '../lib/api';
import { fmtTime } from '../lib/format';
import { Link, traceHref, ServiceChips } from '../lib/links';
import type { ErrorGroup, ErrorOccurrence } from '../lib/types';
import { RangePicker, useRange, WiderRangeLink } from '../search/RangePicker';
import { rangeParams, withParams } from '../search/timerange';
import { Occurrences } from './Occurrences';
import { Sparkline } from './Sparkline';
import { withReadableTrends } from './trend';

const TREND_BUCKETS = 48;
const OCCURRENCES = 200;

/** One error group: its numbers, trend, stack trace and newest occurrences. */
export function ErrorGroupPage({ fingerprint, params }: { fingerprint: string; params: URLSearchParams }) {
  const { range, startS, endS, refresh } = useRange(params, { fallback: '24h' });
  // `trendFrom`: where the trend starts (later than the range when it began quiet).
  const [data, setData] = useState<{ group: ErrorGroup; occurrences: ErrorOccurrence[]; trendFrom: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    const ctl = new AbortController();
    const ask = (start: string) => errorGroup(fingerprint, { start, end: endS, buckets: TREND_BUCKETS, limit: OCCURRENCES }, ctl.signal);
    withReadableTrends(ask, (r) => [r.group], startS, range.start, range.end)
      .then(({ answer, from }) => {
        setData({ ...answer, trendFrom: from ?? range.start });
        setError(null);
      })
      .catch((e) => {
        if ((e as Error).name === 'AbortError') return;
        setError(e as ApiError);
        setData(null);
      });
    return () => ctl.abort();
  }, [fingerprint, startS, endS]);

  const carry = rangeParams(range);
  const back = withParams('/errors', carry);
  const g = data?.group;
  return (
    <main class="page group-page">
      <Link class="back" href={back}>
        ← Errors
      </Link>
      <div class="search-controls group-controls">
        <h1 class="group-title">
          {g ? (
            <>
              <span class="err-text">{g.type || '(no type)'}</span> <span class="group-msg">{g.message}</span>
            </>
          ) : (
            <>Error group <span class="mono">{fingerprint}</span></>
          )}
        </h1>
        <RangePicker range={range} refresh={refresh} />
      </div>
      {error && (
        <div class={error.status === 404 && !error.missingRoute ? 'empty-state' : 'banner err'} role="alert">
          {error.status === 404 && !error.missingRoute ? (
            <p>
              No occurrence of this error between {fmtTime(range.start)} and {fmtTime(range.end)}.{' '}
              <WiderRangeLink>
                Look at the last 7 days
              </WiderRangeLink>
              .
            </p>
          ) : (
            <>
              <strong>Could not load the error group.</strong> {error.message}
            </>
          )}
        </div>
      )}
      {!g && !error && (
        <p class="hint" aria-live="polite">
          Loading…
        </p>
      )}
      {g && data && (
        <>
          <dl class="facts inline" aria-label="Error group summary">
            <dt>Occurrences</dt>
            <dd data-testid="group-count">{g.count.toLocaleString()}</dd>
            <dt>Traces</dt>
            <dd data-testid="group-traces">{g.trace_count.toLocaleString()}</dd>
            <dt>Sessions</dt>
            <dd>{g.session_count.toLocaleString()}</dd>
            <dt>First seen</dt>
            <dd class="mono">{fmtTime(g.first_seen_ns)}</dd>
            <dt>Last seen</dt>
            <dd class="mono">{fmtTime(g.last_seen_ns)}</dd>
            <dt>Services</dt>
            <dd>
              <ServiceChips services={g.services} />
            </dd>
          </dl>
          <section class="panel trend-big" aria-label="Trend">
            <h2>Trend</h2>
            <Sparkline values={g.trend} width={720} height={64} stretch lift={4} label={`Occurrences of ${g.type} from ${fmtTime(data.trendFrom)}`} />
            <div class="trend-axis hint" aria-hidden="true">
              <span>{fmtTime(data.trendFrom).slice(0, 16)}</span>
              <span>{fmtTime(range.end).slice(0, 16)}</span>
            </div>
          </section>
          <section class="panel" aria-label="Stack trace">
            <h2>Stack trace</h2>
            {g.stacktrace ? <pre class="stack group-stack">{g.stacktrace}</pre> : <p class="hint">This error was recorded without a stack trace.</p>}
          </section>
          {g.example_trace_ids.length > 0 && (
            <section class="panel" aria-label="Example traces">
              <h2>Example traces</h2>
              <ul class="example-traces">
                {g.example_trace_ids.map((id) => (
                  <li key={id}>
                    <Link class="mono trace-link" href={traceHref(id, data.occurrences.find((o) => o.trace_id === id)?.span_id)}>
                      {id}
                    </Link>
                  </li>
                ))}
              </ul>
            </section>
          )}
          <section aria-label="Occurrences">
            <h2>
              Occurrences <span class="badge">{data.occurrences.length < g.count ? `newest ${data.occurrences.length} of ${g.count}` : data.occurrences.length}</span>
            </h2>
            <Occurrences occurrences={data.occurrences} label="Occurrences" range={carry} />
          </section>
        </>
      )}
    </main>
  );
}
