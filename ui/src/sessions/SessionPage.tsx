import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, getSession, type SessionDetail } from '../lib/api';
import { fmtDuration, fmtTime, serviceColor } from '../lib/format';
import { Link, traceHref, ServiceChips } from '../lib/links';
import { setParams } from '../lib/router';
import { Occurrences } from '../errors/Occurrences';
import { LogList } from '../logs/LogList';
import { RangePicker, useRange, WiderRangeLink } from '../search/RangePicker';
import { rangeParams, withParams } from '../search/timerange';
import { ReplayPlayer, type Seek } from './ReplayPlayer';
import { getReplay, type RecordedEvent, recordingExtent } from './replay';
import { Timeline } from './Timeline';
import { layoutTimeline } from './timeline';
import type { TraceRow } from '../lib/types';

/** The expanded log line and the moment to start the replay at (`at`, ns, from a trace's "watch
 * the session at this moment"): neither reloads the session. */
const VIEW_KEYS = ['log', 'at'];

/** One session: its traces, errors and logs on one timeline, and as lists below it. */
export function SessionPage({ sessionId, params }: { sessionId: string; params: URLSearchParams }) {
  const { range, startS, endS, refresh } = useRange(params, { fallback: '24h', viewKeys: VIEW_KEYS });
  const [data, setData] = useState<SessionDetail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    const ctl = new AbortController();
    getSession(sessionId, { start: startS, end: endS }, ctl.signal)
      .then((d) => {
        setData(d);
        setError(null);
      })
      .catch((e) => {
        if ((e as Error).name === 'AbortError') return;
        setError(e as ApiError);
        setData(null);
      });
    return () => ctl.abort();
  }, [sessionId, startS, endS]);

  // The recording, when the browser sent one; a server without the route has none.
  const [events, setEvents] = useState<RecordedEvent[]>([]);
  const [cursor, setCursor] = useState(0);
  const at = Number(params.get('at'));
  const [seek, setSeek] = useState<Seek | null>(Number.isFinite(at) && at > 0 ? { ns: at, n: 0 } : null);
  useEffect(() => {
    const ctl = new AbortController();
    setEvents([]);
    getReplay(sessionId, ctl.signal)
      .then(setEvents)
      .catch(() => setEvents([]));
    return () => ctl.abort();
  }, [sessionId]);
  const extent = useMemo(() => recordingExtent(events), [events]);

  // A trace's label needs about 170 px of the timeline's track (the page less the row labels).
  const [pageW, setPageW] = useState(window.innerWidth);
  useEffect(() => {
    const onResize = () => setPageW(window.innerWidth);
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);
  const label = Math.min(1, 170 / Math.max(170, pageW - 140));
  const layout = useMemo(() => (data ? layoutTimeline(data.traces, data.errors, data.logs, 240, label, extent ?? []) : null), [data, label, extent]);
  const clock = extent ? { cursor, onSeek: (ns: number) => setSeek((old) => ({ ns, n: (old?.n ?? 0) + 1 })) } : undefined;
  const carry = rangeParams(range);
  const s = data?.session;
  return (
    <main class="page session-page">
      <Link class="back" href={withParams('/sessions', carry)}>
        ← Sessions
      </Link>
      <div class="search-controls">
        <h1 class="group-title">
          Session <span class="mono">{sessionId}</span>
        </h1>
        <div class="spacer" />
        <RangePicker range={range} refresh={refresh} />
      </div>
      {error && (
        <div class={error.status === 404 && !error.missingRoute ? 'empty-state' : 'banner err'} role="alert">
          {error.status === 404 && !error.missingRoute ? (
            <p>
              This session has no spans between {fmtTime(range.start)} and {fmtTime(range.end)}.{' '}
              <WiderRangeLink>
                Look at the last 7 days
              </WiderRangeLink>
              .
            </p>
          ) : (
            <>
              <strong>Could not load the session.</strong> {error.message}
            </>
          )}
        </div>
      )}
      {!data && !error && (
        <p class="hint" aria-live="polite">
          Loading session…
        </p>
      )}
      {s && data && layout && (
        <>
          <dl class="facts inline" aria-label="Session summary">
            <dt>Start</dt>
            <dd class="mono">{fmtTime(s.start_ns)}</dd>
            <dt>Duration</dt>
            <dd>{fmtDuration(s.duration_ns)}</dd>
            <dt>Traces</dt>
            <dd data-testid="session-traces">{s.trace_count.toLocaleString()}</dd>
            <dt>Errors</dt>
            <dd data-testid="session-errors" class={s.error_count ? 'err-text' : ''}>
              {s.error_count.toLocaleString()}
            </dd>
            <dt>Logs</dt>
            <dd data-testid="session-logs">{data.logs.length.toLocaleString()}</dd>
            <dt>Services</dt>
            <dd>
              <ServiceChips services={s.services} />
            </dd>
          </dl>
          {extent && (
            <>
              <ReplayPlayer events={events} seek={seek} onTime={setCursor} />
              <AtCursor traces={data.traces} cursor={cursor} start={layout.start} />
            </>
          )}
          <Timeline layout={layout} range={carry} clock={clock} />

          <section aria-label="Traces of the session">
            <h2>
              Traces <span class="badge">{data.traces.length}</span>
            </h2>
            <div class="table-scroll">
              <table class="results session-traces" aria-label="Traces">
                <thead>
                  <tr>
                    <th>At</th>
                    <th>Root span</th>
                    <th class="num">Duration</th>
                    <th class="num">Spans</th>
                    <th class="num">Errors</th>
                    <th>Services</th>
                  </tr>
                </thead>
                <tbody>
                  {data.traces.map((t) => (
                    <tr key={t.trace_id} class={t.error_count ? 'row-err' : ''} data-trace-id={t.trace_id}>
                      <td class="mono nowrap" title={fmtTime(t.start)}>
                        +{fmtDuration(t.start - s.start_ns)}
                      </td>
                      <td class="name-cell">
                        <i class="dot" style={{ background: serviceColor(t.root_service) }} />
                        <Link href={traceHref(t.trace_id)}>{t.root_name || '(missing root)'}</Link>
                      </td>
                      <td class="mono num">{fmtDuration(t.duration)}</td>
                      <td class="num">{t.span_count}</td>
                      <td class="num">{t.error_count ? <span class="pill err">{t.error_count}</span> : 0}</td>
                      <td>{t.services.join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>

          <section aria-label="Errors of the session">
            <h2>
              Errors <span class="badge">{data.errors.length}</span>
            </h2>
            {data.errors.length ? <Occurrences occurrences={data.errors} label="Errors" range={carry} showGroup /> : <p class="hint">No errors in this session.</p>}
          </section>

          <section aria-label="Logs of the session">
            <h2>
              Logs <span class="badge">{data.logs.length}</span>
            </h2>
            {data.logs.length ? (
              <LogList logs={data.logs} expanded={params.get('log')} onToggle={(id) => setParams({ log: id })} label="Logs" variant="compact" />
            ) : (
              <p class="hint">No logs in this session.</p>
            )}
          </section>
        </>
      )}
    </main>
  );
}

/** The request in flight at the player's time (else the last one started before it), linked to
 * its backend trace. */
function AtCursor({ traces, cursor, start }: { traces: TraceRow[]; cursor: number; start: number }) {
  const started = traces.filter((t) => t.start <= cursor);
  const inFlight = started.filter((t) => cursor <= t.start + t.duration);
  const shown = inFlight.length ? inFlight : started.slice(-1);
  return (
    <p class="replay-now" aria-live="polite" data-testid="replay-now">
      <span class="muted">At +{fmtDuration(Math.max(0, cursor - start))}:</span>{' '}
      {shown.length === 0 ? (
        <span class="muted">no request yet</span>
      ) : (
        shown.map((t) => (
          <Link key={t.trace_id} href={traceHref(t.trace_id)} data-trace-id={t.trace_id} class="replay-request">
            {inFlight.includes(t) ? '' : 'last: '}
            {t.root_name || '(missing root)'} <small>{fmtDuration(t.duration)}</small>
          </Link>
        ))
      )}
    </p>
  );
}
