import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorGroups } from '../lib/api';
import { fmtTime } from '../lib/format';
import { ServiceChips } from '../lib/links';
import { setParams } from '../lib/router';
import type { ErrorGroup } from '../lib/types';
import { RangePicker, useRange } from '../search/RangePicker';
import { rangeParams } from '../search/timerange';
import { GroupsTable } from './GroupsTable';
import { withReadableTrends } from './trend';

const TREND_BUCKETS = 24;

/** The errors page: error groups in the range with their counts and trend, filtered by text and, from a service's page, by service and environment. */
export function ErrorsPage({ params }: { params: URLSearchParams }) {
  const text = params.get('text') ?? '';
  const service = params.get('service') ?? '';
  const environment = params.get('environment') ?? '';
  const { range, startS, endS, refresh } = useRange(params, { fallback: '24h' });
  const [draft, setDraft] = useState(text);
  const [groups, setGroups] = useState<ErrorGroup[] | null>(null);
  // Where the trends start when the range began quiet (see `trendStart`).
  const [trendFrom, setTrendFrom] = useState<number | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => setDraft((d) => (d.trim() === text ? d : text)), [text]);
  // The filter box writes `text` to the URL as one types, debounced.
  useEffect(() => {
    if (draft.trim() === text) return;
    const t = setTimeout(() => setParams({ text: draft.trim() || null }), 250);
    return () => clearTimeout(t);
  }, [draft]);

  useEffect(() => {
    const ctl = new AbortController();
    const ask = (start: string) => errorGroups({ start, end: endS, text: text || undefined, service: service || undefined, environment: environment || undefined, buckets: TREND_BUCKETS }, ctl.signal);
    withReadableTrends(ask, (r) => r.groups, startS, range.start, range.end)
      .then(({ answer, from }) => {
        setGroups(answer.groups);
        setTrendFrom(from);
        setError(null);
      })
      .catch((e) => {
        if ((e as Error).name === 'AbortError') return;
        setError(e as ApiError);
        setGroups([]);
      });
    return () => ctl.abort();
  }, [startS, endS, text, service, environment]);

  const carry = rangeParams(range);
  return (
    <main class="page errors-page">
      <h1 class="page-title">Errors</h1>
      <div class="search-controls">
        <div class="text-filter">
          <label for="error-filter" class="visually-hidden">
            Filter errors by type or message
          </label>
          <input id="error-filter" type="search" placeholder="Filter by type or message…" value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} />
        </div>
        {(service || environment) && (
          <p class="hint service-filter">
            {service && (
              <>
                Raised by <ServiceChips services={[service]} />
              </>
            )}
            {environment && (
              <>
                In environment <code>{environment}</code>
              </>
            )}
            <button type="button" class="btn" onClick={() => setParams({ service: null, environment: null }, false)}>
              Every service and environment
            </button>
          </p>
        )}
        <RangePicker range={range} refresh={refresh} />
      </div>
      {error && (
        <div class="banner err" role="alert">
          <strong>{error.status === 401 ? 'This project needs a key.' : error.missingRoute ? 'This server does not group errors yet.' : 'Could not load the errors.'}</strong> {error.message}
        </div>
      )}
      {groups === null ? (
        <p class="hint" aria-live="polite">
          Loading errors…
        </p>
      ) : groups.length === 0 ? (
        !error && (
          <div class="empty-state">
            <h2>No errors</h2>
            <p>
              {text ? (
                <>
                  No error type or message contains <code>{text}</code> between {fmtTime(range.start)} and {fmtTime(range.end)}.
                </>
              ) : (
                <>
                  No exception was recorded{service ? <> by <code>{service}</code></> : null}{environment ? <> in <code>{environment}</code></> : null} between {fmtTime(range.start)} and {fmtTime(range.end)}.
                </>
              )}{' '}
              Errors come from <code>exception</code> span events and from error logs with <code>exception.*</code> attributes.
            </p>
          </div>
        )
      ) : (
        <GroupsTable groups={groups} carry={carry} label="Error groups" trendFrom={trendFrom} />
      )}
    </main>
  );
}
