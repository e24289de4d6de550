import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, listSessions } from '../lib/api';
import { fmtDuration, fmtTime } from '../lib/format';
import { Link, sessionHref, ServiceChips } from '../lib/links';
import type { SessionSummary } from '../lib/types';
import { RangePicker, useRange } from '../search/RangePicker';
import { setParams } from '../lib/router';
import { rangeParams } from '../search/timerange';

const LIMIT = 500;
/** Rows shown per page of the list. */
const PAGE = 50;

/** The sessions page: recently active browser sessions with their page loads, requests, traces,
 * errors, browser, route through the site (entry → last page) and services. */
export function SessionsPage({ params }: { params: URLSearchParams }) {
  const { range, startS, endS, refresh } = useRange(params, { fallback: '24h', viewKeys: ['text', 'page'] });
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  // The filter text and the page live in the URL, like every other view's state.
  const text = params.get('text') ?? '';
  const pageNo = Math.max(0, Number(params.get('page') ?? 0) || 0);

  useEffect(() => {
    const ctl = new AbortController();
    listSessions({ start: startS, end: endS, limit: LIMIT }, ctl.signal)
      .then((s) => {
        setSessions(s);
        setError(null);
      })
      .catch((e) => {
        if ((e as Error).name === 'AbortError') return;
        setError(e as ApiError);
        setSessions([]);
      });
    return () => ctl.abort();
  }, [startS, endS, attempt]);

  // Sessions whose id, browser, summary or one of whose services contains the text; with errors
  // only for `error`.
  const shown = useMemo(() => {
    const q = text.trim().toLowerCase();
    if (!sessions || !q) return sessions ?? [];
    return sessions.filter((s) => [s.session_id, s.browser ?? '', s.summary ?? '', ...s.services].some((x) => x.toLowerCase().includes(q)) || (q === 'error' && s.error_count > 0));
  }, [sessions, text]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const current = Math.min(pageNo, pages - 1);
  const rows = shown.slice(current * PAGE, (current + 1) * PAGE);

  const carry = rangeParams(range);
  return (
    <main class="page sessions-page">
      <div class="search-controls">
        <h1 class="page-title">Sessions</h1>
        <div class="spacer" />
        <RangePicker range={range} refresh={refresh} />
      </div>
      {error && (
        <div class="banner err" role="alert">
          <strong>{error.status === 401 ? 'This project needs a key.' : error.missingRoute ? 'This server does not track sessions yet.' : 'Could not load the sessions.'}</strong> {error.message}{' '}
          <button type="button" class="btn retry" onClick={() => setAttempt(attempt + 1)}>
            Try again
          </button>
        </div>
      )}
      {sessions !== null && sessions.length > 0 && (
        <div class="list-controls">
          <label for="session-filter" class="visually-hidden">
            Filter sessions
          </label>
          <input
            id="session-filter"
            type="search"
            placeholder="Filter by session id, page, browser or service (error: only sessions with errors)…"
            value={text}
            onInput={(e) => setParams({ text: (e.target as HTMLInputElement).value || null, page: null }, true)}
          />
          <span class="hint" aria-live="polite">
            {shown.length.toLocaleString()} of {sessions.length.toLocaleString()}
            {sessions.length >= LIMIT ? '+ (the most recent) ' : ' '}sessions
          </span>
        </div>
      )}
      {sessions === null ? (
        <p class="hint" aria-live="polite">
          Loading sessions…
        </p>
      ) : sessions.length === 0 ? (
        !error && (
          <div class="empty-state">
            <h2>No sessions</h2>
            <p>
              No span between {fmtTime(range.start)} and {fmtTime(range.end)} carries a session id. Spans and logs join a session through the <code>highlight.session_id</code> or{' '}
              <code>session.id</code> attribute (backend SDKs copy it from the browser's <code>x-highlight-request</code> header).
            </p>
          </div>
        )
      ) : (
        <div class="table-scroll">
          <table class="results sessions" aria-label="Sessions">
            <thead>
              <tr>
                <th>Session</th>
                <th>Start</th>
                <th class="num">Duration</th>
                <th class="num">Pages</th>
                <th class="num">Requests</th>
                <th class="num">Traces</th>
                <th class="num">Errors</th>
                <th>Browser</th>
                <th>Summary</th>
                <th>Services</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.session_id} class={s.error_count ? 'row-err' : ''} data-session-id={s.session_id}>
                  <td class="name-cell">
                    <Link class="mono" href={sessionHref(s.session_id, carry)}>
                      {s.session_id}
                    </Link>
                  </td>
                  <td class="mono nowrap">{fmtTime(s.start_ns)}</td>
                  <td class="mono num">{fmtDuration(s.duration_ns)}</td>
                  <td class="num" data-col="pages">{s.page_count.toLocaleString()}</td>
                  <td class="num" data-col="requests">{s.request_count.toLocaleString()}</td>
                  <td class="num">{s.trace_count.toLocaleString()}</td>
                  <td class="num">{s.error_count ? <span class="pill err">{s.error_count.toLocaleString()}</span> : 0}</td>
                  <td class="nowrap" data-col="browser">{s.browser ?? <span class="hint">—</span>}</td>
                  <td class="session-summary" data-col="summary" title={s.entry_page && s.exit_page ? `${s.entry_page} → ${s.exit_page}` : undefined}>
                    {s.summary ?? <span class="hint">—</span>}
                  </td>
                  <td>
                    <ServiceChips services={s.services} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <nav class="pager" aria-label="Pages of sessions">
          <button type="button" class="btn" disabled={current === 0} onClick={() => setParams({ page: current - 1 ? String(current - 1) : null }, true)}>
            ← Newer
          </button>
          <span class="hint">
            Page {current + 1} of {pages}
          </span>
          <button type="button" class="btn" disabled={current >= pages - 1} onClick={() => setParams({ page: String(current + 1) }, true)}>
            Older →
          </button>
        </nav>
      )}
    </main>
  );
}
