import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, logHistogram, searchLogs } from '../lib/api';
import { fmtTime, queryValue } from '../lib/format';
import { LEVELS, levelParts, levelsPresent, normaliseLevel } from '../lib/levels';
import { setParams } from '../lib/router';
import type { LogBucket, LogRecord, QueryErrorInfo } from '../lib/types';
import { Histogram } from '../search/Histogram';
import { localBuckets, type Series, type StackedBucket } from '../search/stack';
import { QueryBar } from '../search/QueryBar';
import { RangePicker, useRange, WiderRangeLink } from '../search/RangePicker';
import { iso } from '../search/timerange';
import { LogList } from './LogList';

const PAGE = 200;
/** The expanded line: opening one must not re-run the search. */
const VIEW_KEYS = ['log'];
const BUCKETS = 60;
/** Keys every log record has (the query language compiled for logs). */
const LOG_INTRINSICS = ['level', 'body', 'trace_id', 'span_id', 'service_name', 'secure_session_id'] as const;
const LOG_VALUES: Record<string, readonly string[]> = { level: LEVELS };

/** Histogram series for the given levels, coloured per level. */
function levelSeries(levels: readonly string[]): Series[] {
  return levels.map((l) => ({ label: l, cls: `lvl-fill-${l}` }));
}

/** The logs page: query bar, histogram by level, and a virtualised list with infinite scroll. */
export function LogsPage({ params }: { params: URLSearchParams }) {
  const query = params.get('query') ?? '';
  const sort = params.get('sort') === 'time_asc' ? 'time_asc' : 'time_desc';
  const expanded = params.get('log');
  const { range, startS, endS, refresh } = useRange(params, { viewKeys: VIEW_KEYS });
  const [logs, setLogs] = useState<LogRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [buckets, setBuckets] = useState<LogBucket[] | null>(null);
  const [histNote, setHistNote] = useState('');
  const gen = useRef(0);

  const load = useCallback(
    async (next: string | null) => {
      const my = ++gen.current;
      setLoading(true);
      try {
        const r = await searchLogs({ query, start: startS, end: endS, sort, limit: PAGE, cursor: next });
        if (my !== gen.current) return;
        setLogs((old) => (next ? [...old, ...r.logs] : r.logs));
        setCursor(r.next_cursor);
        setError(null);
      } catch (e) {
        if (my !== gen.current) return;
        setError(e as ApiError);
        if (!next) {
          setLogs([]);
          setCursor(null);
        }
      } finally {
        if (my === gen.current) setLoading(false);
      }
    },
    [query, startS, endS, sort],
  );

  useEffect(() => {
    setLogs([]);
    setCursor(null);
    load(null);
  }, [load]);

  useEffect(() => {
    const ctl = new AbortController();
    logHistogram({ query, start: startS, end: endS, buckets: BUCKETS }, ctl.signal)
      .then((b) => {
        setBuckets(b);
        setHistNote('');
      })
      .catch((e) => {
        if ((e as Error).name === 'AbortError') return;
        setBuckets(null);
        const missing = e instanceof ApiError && e.missingRoute;
        setHistNote(e instanceof ApiError && e.status === 400 ? '' : missing ? 'No log histogram on this server: counts cover loaded lines only.' : (e as Error).message);
      });
    return () => ctl.abort();
  }, [query, startS, endS]);

  // Stacked by level, most severe at the bottom; only levels that occur get a series.
  const { stacks, series } = useMemo((): { stacks: StackedBucket[]; series: Series[] } => {
    if (buckets) {
      const levels = levelsPresent(buckets);
      return { stacks: buckets.map((b) => ({ start: b.start, end: b.end, parts: levelParts(b, levels) })), series: levelSeries(levels) };
    }
    const levels = LEVELS.filter((l) => logs.some((x) => normaliseLevel(x.level) === l));
    const index = new Map(levels.map((l, i) => [l, i]));
    return {
      stacks: localBuckets(logs.map((l) => ({ t: l.time_unix_nano, series: index.get(normaliseLevel(l.level)) ?? -1 })), levels.length, range.start, range.end, BUCKETS),
      series: levelSeries(levels),
    };
  }, [buckets, logs, range.start, range.end]);
  const errorSeries = series.findIndex((s) => s.label === 'error');
  const emphasis = errorSeries >= 0 ? { series: errorSeries, label: 'errors' } : undefined;

  const queryError: QueryErrorInfo | null = error && error.status === 400 && error.info.start !== undefined ? error.info : null;
  const addFilter = (key: string, value: unknown) => {
    const term = `${key}:${queryValue(value)}`;
    setParams({ query: query.trim() ? `${query.trim()} ${term}` : term, log: null }, false);
  };
  const onMore = useCallback(() => {
    if (cursor && !loading) load(cursor);
  }, [cursor, loading, load]);

  return (
    <main class="page logs-page">
      <h1 class="visually-hidden">Logs</h1>
      <div class="search-controls">
        <QueryBar
          value={query}
          error={queryError}
          start={startS}
          end={endS}
          intrinsics={LOG_INTRINSICS}
          localValues={LOG_VALUES}
          target="logs"
          placeholder="Search logs, e.g. level:error service:checkout timeout"
          onSubmit={(q) => setParams({ query: q, log: null }, false)}
        />
        <RangePicker range={range} refresh={refresh} />
      </div>

      <Histogram
        buckets={stacks}
        series={series}
        noun="logs"
        emphasis={emphasis}
        start={range.start}
        end={range.end}
        note={histNote}
        onZoom={(s, e) => setParams({ range: null, start: iso(s), end: iso(e) }, false)}
      />

      <div class="results-head">
        <div class="seg-group" role="group" aria-label="Order">
          <button type="button" class={`btn seg${sort === 'time_desc' ? ' on' : ''}`} aria-pressed={sort === 'time_desc'} onClick={() => setParams({ sort: null }, false)}>
            Newest first
          </button>
          <button type="button" class={`btn seg${sort === 'time_asc' ? ' on' : ''}`} aria-pressed={sort === 'time_asc'} onClick={() => setParams({ sort: 'time_asc' }, false)}>
            Oldest first
          </button>
        </div>
        <span class="count" aria-live="polite">
          {loading && !logs.length ? 'Loading…' : `${logs.length.toLocaleString()}${cursor ? '+' : ''} log lines`}
        </span>
        <span class="hint">Click or Enter expands a line · ↑/↓ move</span>
      </div>

      {error && !queryError && (
        <div class="banner err" role="alert">
          <strong>{error.status === 401 ? 'This project needs a key.' : error.missingRoute ? 'This server does not store logs yet.' : 'The log search failed.'}</strong> {error.message}
          {error.status === 401 && ' Set it with the Project button at the top right.'}
        </div>
      )}

      {logs.length > 0 && (
        <LogList
          logs={logs}
          expanded={expanded}
          onToggle={(id) => setParams({ log: id })}
          hasMore={!!cursor}
          loading={loading}
          onMore={onMore}
          onFilter={addFilter}
          label="Log lines"
        />
      )}
      {!loading && !error && logs.length === 0 && (
        <div class="empty-state">
          <h2>No logs found</h2>
          <p>
            Nothing matched {query ? <code>{query}</code> : 'in this range'} between {fmtTime(range.start)} and {fmtTime(range.end)}. Try a wider time range (
            <WiderRangeLink>last 7 days</WiderRangeLink>)
            {query && (
              <>
                {' '}or{' '}
                <a href="#" onClick={(e) => { e.preventDefault(); setParams({ query: null }, false); }}>clear the query</a>
              </>
            )}
            . No logs at all? Send OTLP logs to <code>:4318/v1/logs</code> (HTTP) or <code>:4317</code> (gRPC).
          </p>
        </div>
      )}
    </main>
  );
}
