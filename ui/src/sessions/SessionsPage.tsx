import { useEffect, useState } from 'preact/hooks';
import { ApiError, listSessions } from '../lib/api';
import { fmtDuration, fmtTime, serviceColor } from '../lib/format';
import { Link, sessionHref } from '../lib/links';
import type { SessionSummary } from '../lib/types';
import { RangePicker, useRange } from '../search/RangePicker';
import { rangeParams } from '../search/timerange';

const LIMIT = 500;

/** The sessions page: recently active browser sessions with their traces, errors and services. */
export function SessionsPage({ params }: { params: URLSearchParams }) {
  const { range, startS, endS, refresh } = useRange(params, { fallback: '24h' });
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

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
  }, [startS, endS]);

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
          <strong>{error.status === 401 ? 'This project needs a key.' : error.missingRoute ? 'This server does not track sessions yet.' : 'Could not load the sessions.'}</strong> {error.message}
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
        <table class="results sessions" aria-label="Sessions">
          <thead>
            <tr>
              <th>Session</th>
              <th>Start</th>
              <th>Duration</th>
              <th>Traces</th>
              <th>Errors</th>
              <th>Services</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.session_id} class={s.error_count ? 'row-err' : ''} data-session-id={s.session_id}>
                <td class="name-cell">
                  <Link class="mono" href={sessionHref(s.session_id, carry)}>
                    {s.session_id}
                  </Link>
                </td>
                <td class="mono nowrap">{fmtTime(s.start_ns)}</td>
                <td class="mono">{fmtDuration(s.duration_ns)}</td>
                <td class="num">{s.trace_count.toLocaleString()}</td>
                <td class="num">{s.error_count ? <span class="pill err">{s.error_count.toLocaleString()}</span> : 0}</td>
                <td>
                  {s.services.map((x) => (
                    <span key={x} class="svc-chip">
                      <i class="dot" style={{ background: serviceColor(x) }} />
                      {x}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
