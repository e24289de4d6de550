import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, getView, histogram, searchSpans, searchTraces, type QueryLang } from '../lib/api';
import { fmtDuration, fmtTime, fmtValue, serviceColor } from '../lib/format';
import { linkClick, setParams } from '../lib/router';
import { Link } from '../lib/links';
import type { Bucket, QueryErrorInfo, SavedView, Span, TraceRow } from '../lib/types';
import { Histogram } from './Histogram';
import { localBuckets, SPAN_SERIES, spanStacks, TRACE_SERIES } from './stack';
import { TracePage } from '../trace/TracePage';
import { Pickers } from './Pickers';
import { isKeyOrder, isSortable, nextSort, parseSort, type SortState } from './sort';
import { nextTraceSort, parseTraceSort, sortTraces } from './traceSort';
import { LangSwitch, QueryBar } from './QueryBar';
import { QueryChart } from './QueryChart';
import { Scatter } from './Scatter';
import { RangePicker, useRange, WiderRangeLink } from './RangePicker';
import { SavedViews } from './SavedViews';
import { alertOnHref } from '../alerts/alerts';
import { iso } from './timerange';

const PAGE = 100;
const BUCKETS = 60;
const LAST_SEARCH = 'tracehouse.lastSearch';
/** URL params of the side drawer and the chart view: changing them must not re-run the search. */
const VIEW_KEYS = ['peek', 'span', 'tab', 'zoom', 'find', 'chart', 'chart_by'];
/** The traces view sorts what it loaded: its `sort` is a view param too. */
const TRACES_VIEW_KEYS = [...VIEW_KEYS, 'sort'];

type Col = { id: string; label: string; attr?: boolean };
const BASE_COLS: Col[] = [
  { id: 'time', label: 'Time' },
  { id: 'service', label: 'Service' },
  { id: 'name', label: 'Span name' },
  { id: 'duration', label: 'Duration' },
  { id: 'status', label: 'Status' },
  { id: 'trace', label: 'Trace ID' },
  { id: 'kind', label: 'Kind' },
  { id: 'environment', label: 'Environment' },
  { id: 'span', label: 'Span ID' },
];
const DEFAULT_COLS = ['time', 'service', 'name', 'duration', 'status', 'trace'];
const COLS_KEY = 'tracehouse.columns';

function loadCols(): string[] {
  try {
    const c = JSON.parse(localStorage.getItem(COLS_KEY) ?? 'null') as string[] | null;
    return Array.isArray(c) && c.length ? c : DEFAULT_COLS;
  } catch {
    return DEFAULT_COLS;
  }
}

/** The search URL for the last search (so the trace view can add filters to it). */
export function lastSearch(): URLSearchParams | null {
  try {
    const s = sessionStorage.getItem(LAST_SEARCH);
    return s === null ? null : new URLSearchParams(s);
  } catch {
    return null;
  }
}

function spanSortValue(s: Span, col: string): number | string {
  return col === 'duration' ? s.duration_nanos : s.start_time_unix_nano;
}

export function SearchPage({ params }: { params: URLSearchParams }) {
  const query = params.get('query') ?? '';
  // TraceQL (`lang=traceql`) searches the same spans; the pickers, the chart and saved views
  // write and read the tracehouse language, so they are left out with it.
  const lang: QueryLang = params.get('lang') === 'traceql' ? 'traceql' : undefined;
  const view = params.get('view') === 'traces' ? 'traces' : 'spans';
  const sort = params.get('sort') ?? 'time_desc';
  // The range is recomputed on each search and auto-refresh tick (presets slide with "now").
  const { range, startS, endS, refresh } = useRange(params, { viewKeys: view === 'traces' ? TRACES_VIEW_KEYS : VIEW_KEYS });
  const [spans, setSpans] = useState<Span[]>([]);
  const [traces, setTraces] = useState<TraceRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [degraded, setDegraded] = useState('');
  const [buckets, setBuckets] = useState<Bucket[] | null>(null);
  const [histNote, setHistNote] = useState('');
  const [cols, setColsState] = useState<string[]>(loadCols);
  // The choice is stored as it is made (not in an effect after the render), so a navigation
  // right after a click cannot lose it.
  const setCols = (next: string[]) => {
    setColsState(next);
    try {
      localStorage.setItem(COLS_KEY, JSON.stringify(next));
    } catch {
      /* ignore */
    }
  };
  const [attrCol, setAttrCol] = useState('');
  // Up to two traces picked for comparison (the first picked is the baseline).
  const [picked, setPicked] = useState<string[]>([]);
  const togglePick = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));
  const sentinel = useRef<HTMLDivElement>(null);
  const gen = useRef(0);

  // A saved view: its search replaces the current one (`?saved=<name>` is its share link).
  const applyView = (v: SavedView) => {
    setCols(v.columns.length ? v.columns : DEFAULT_COLS);
    setParams({ query: v.query || null, range: v.range || null, start: v.start || null, end: v.end || null, saved: null }, false);
  };
  const savedName = params.get('saved');
  useEffect(() => {
    if (!savedName) return;
    const ctl = new AbortController();
    getView(savedName, ctl.signal)
      .then(applyView)
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e as ApiError);
      });
    return () => ctl.abort();
  }, [savedName]);

  useEffect(() => {
    try {
      sessionStorage.setItem(LAST_SEARCH, params.toString());
    } catch {
      /* ignore */
    }
  }, [params.toString()]);


  // The server orders spans; the traces view sorts the traces it loaded (see `traceSort`), so
  // its order does not search again.
  const serverSort = view === 'traces' ? undefined : sort;
  const load = useCallback(
    async (next: string | null) => {
      const my = ++gen.current;
      setLoading(true);
      try {
        const p = { query, lang, start: startS, end: endS, sort: serverSort, limit: PAGE, cursor: next };
        if (view === 'traces') {
          const r = await searchTraces(p);
          if (my !== gen.current) return;
          setTraces((old) => (next ? [...old, ...r.traces] : r.traces));
          setCursor(r.next_cursor);
        } else {
          const r = await searchSpans(p);
          if (my !== gen.current) return;
          setSpans((old) => (next ? [...old, ...r.spans] : r.spans));
          setCursor(r.next_cursor);
          setDegraded(r.degraded ?? '');
        }
        setError(null);
      } catch (e) {
        if (my !== gen.current) return;
        setError(e as ApiError);
        if (!next) {
          setSpans([]);
          setTraces([]);
          setCursor(null);
        }
      } finally {
        if (my === gen.current) setLoading(false);
      }
    },
    [query, lang, startS, endS, serverSort, view],
  );

  useEffect(() => {
    setSpans([]);
    setTraces([]);
    setCursor(null);
    load(null);
  }, [load]);

  // Histogram.
  useEffect(() => {
    const ctl = new AbortController();
    // The traces view counts traces (each once, at its earliest matching span), not spans.
    histogram({ query, lang, start: startS, end: endS, buckets: BUCKETS }, ctl.signal, view)
      .then((b) => {
        setBuckets(b);
        setHistNote('');
      })
      .catch((e) => {
        if ((e as Error).name === 'AbortError') return;
        setBuckets(null);
        setHistNote(e instanceof ApiError && e.status === 400 ? '' : e instanceof ApiError && e.missingRoute ? 'No histogram endpoint on this server: counts cover loaded rows only.' : (e as Error).message);
      });
    return () => ctl.abort();
  }, [query, lang, startS, endS, view]);

  // Infinite scroll.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !loading && cursor) load(cursor);
    }, { rootMargin: '200px' });
    io.observe(el);
    return () => io.disconnect();
  }, [cursor, loading, load]);

  // Series 0 is errors, 1 the rest (SPAN_SERIES).
  const shownBuckets = useMemo(
    () =>
      buckets
        ? spanStacks(buckets)
        : localBuckets(
            view === 'traces'
              ? traces.map((t) => ({ t: t.start, series: t.error_count > 0 ? 0 : 1 }))
              : spans.map((s) => ({ t: s.start_time_unix_nano, series: s.status_code === 'error' ? 0 : 1 })),
            SPAN_SERIES.length,
            range.start,
            range.end,
            BUCKETS,
          ),
    [buckets, spans, traces, range.start, range.end, view],
  );

  const order = parseSort(sort);
  const traceOrder = parseTraceSort(sort);
  const sortedTraces = useMemo(() => sortTraces(traces, traceOrder), [traces, traceOrder.col, traceOrder.dir]);
  const { col: sortCol, dir: sortDir } = order;
  const keyOrder = isKeyOrder(order);
  const sortedSpans = useMemo(() => {
    // The server orders keys (numbers, then text, then spans without the key); pages arrive in order.
    if (keyOrder) return spans;
    const dir = sortDir === 'asc' ? 1 : -1;
    return [...spans].sort((a, b) => {
      const x = spanSortValue(a, sortCol);
      const y = spanSortValue(b, sortCol);
      return x < y ? -dir : x > y ? dir : 0;
    });
  }, [spans, sortCol, sortDir, keyOrder]);
  const maxDur = Math.max(1, ...spans.map((s) => s.duration_nanos), ...traces.map((t) => t.duration));

  const queryError: QueryErrorInfo | null = error && error.status === 400 && error.info.start !== undefined ? error.info : null;

  // DESC → ASC → default.
  const setSort = (col: string) => setParams({ sort: nextSort(order, col) }, false);
  const sortMark = (col: string, o: SortState = order) => (o.col === col ? (o.dir === 'asc' ? ' ▲' : ' ▼') : '');
  const ariaSort = (col: string, o: SortState = order) => (o.col === col ? (o.dir === 'asc' ? 'ascending' : 'descending') : 'none');
  /** A sortable header of the traces view (it sorts the traces loaded so far). */
  const traceTh = (col: string, label: string, num = false) => (
    <th class={num ? 'num' : undefined} aria-sort={ariaSort(col, traceOrder) as 'none'}>
      <button type="button" class="th-btn" onClick={() => setParams({ sort: nextTraceSort(traceOrder, col) }, false)}>
        {label}
        {sortMark(col, traceOrder)}
      </button>
    </th>
  );

  const traceHref = (traceId: string, spanId?: string) => `/traces/${traceId}${spanId ? `?span=${spanId}` : ''}`;
  // A click on a result row (not on its link) opens the trace in a side drawer; the drawer's
  // state (`peek`, and the trace view's own `span`, `tab`, …) lives in the URL like the rest.
  const peek = params.get('peek');
  const peekFrom = (e: MouseEvent, traceId: string, spanId?: string) => {
    if ((e.target as HTMLElement).closest('a, button, input')) return;
    setParams({ peek: traceId, span: spanId ?? null, tab: null, zoom: null, find: null }, false);
  };
  const closePeek = () => setParams({ peek: null, span: null, tab: null, zoom: null, find: null }, false);
  useEffect(() => {
    if (!peek) return;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === 'Escape' && !(t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA'))) closePeek();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [peek]);
  const activeCols = BASE_COLS.filter((c) => cols.includes(c.id)).concat(cols.filter((c) => c.startsWith('attr:')).map((c) => ({ id: c, label: c.slice(5), attr: true })));

  const cell = (s: Span, c: Col) => {
    switch (c.id) {
      case 'time':
        return <td class="mono nowrap">{fmtTime(s.start_time_unix_nano)}</td>;
      case 'service':
        return (
          <td class="nowrap">
            <i class="dot" style={{ background: serviceColor(s.service_name) }} />
            {s.service_name}
          </td>
        );
      case 'name':
        return <td class="name-cell">{s.name}</td>;
      case 'duration':
        return (
          <td class="dur-cell num">
            <span class="dur-bar" style={{ width: `${Math.max(1, (s.duration_nanos / maxDur) * 100)}%` }} />
            <span class="mono">{fmtDuration(s.duration_nanos)}</span>
          </td>
        );
      case 'status':
        return <td>{s.status_code === 'error' ? <span class="pill err">error</span> : <span class={`pill ${s.status_code}`}>{s.status_code}</span>}</td>;
      case 'trace':
        return <td class="mono">{s.trace_id.slice(0, 16)}…</td>;
      case 'kind':
        return <td>{s.kind}</td>;
      case 'environment':
        return <td>{s.environment ?? ''}</td>;
      case 'span':
        return <td class="mono">{s.span_id}</td>;
      default: {
        const k = c.id.slice(5);
        const v = s.attributes?.[k] ?? s.resource_attributes?.[k];
        return <td>{v === undefined ? '' : fmtValue(v)}</td>;
      }
    }
  };

  const rows = view === 'traces' ? traces.length : spans.length;
  const chart = params.get('chart');
  const zoom = (s: number, e: number) => setParams({ range: null, start: iso(s), end: iso(e) }, false);
  return (
    <main class="page search-page">
      <h1 class="visually-hidden">Traces search</h1>
      <div class="search-controls">
        <QueryBar
          value={query}
          error={queryError}
          start={startS}
          end={endS}
          onSubmit={(q) => setParams({ query: q }, false)}
          lang={lang}
        />
        <LangSwitch lang={lang} onLang={(l) => setParams({ lang: l ?? null, query: null, chart: null, chart_by: null, saved: null }, false)} />
        {!lang && <Pickers query={query} start={startS} end={endS} onQuery={(q) => setParams({ query: q || null }, false)} />}
        <RangePicker range={range} refresh={refresh} />
      </div>

      {!lang && (
        <div class="seg-group over-time" role="group" aria-label="Over time">
          <button type="button" class={`btn seg${chart === null ? ' on' : ''}`} aria-pressed={chart === null} onClick={() => setParams({ chart: null, chart_by: null }, false)}>
            Histogram
          </button>
          <button type="button" class={`btn seg${chart !== null ? ' on' : ''}`} aria-pressed={chart !== null} onClick={() => setParams({ chart: chart ?? 'count' }, false)}>
            Chart
          </button>
        </div>
      )}
      {chart === null || lang ? (
        <div class={view === 'traces' ? 'over-time-row' : undefined}>
          <Histogram buckets={shownBuckets} series={view === 'traces' ? TRACE_SERIES : SPAN_SERIES} noun={view} emphasis={{ series: 0, label: view === 'traces' ? 'failed' : 'errors' }} start={range.start} end={range.end} note={histNote} onZoom={zoom} />
          {view === 'traces' && <Scatter traces={traces} more={cursor !== null} onPick={(id) => setParams({ peek: id, span: null, tab: null, zoom: null, find: null }, false)} />}
        </div>
      ) : (
        <QueryChart query={query} start={startS} end={endS} fn={chart} by={params.get('chart_by')} onZoom={zoom} />
      )}

      <div class="results-head">
        <div class="seg-group" role="group" aria-label="Show rows as">
          <button type="button" class={`btn seg${view === 'spans' ? ' on' : ''}`} aria-pressed={view === 'spans'} onClick={() => setParams({ view: null, sort: null }, false)}>
            Spans
          </button>
          <button type="button" class={`btn seg${view === 'traces' ? ' on' : ''}`} aria-pressed={view === 'traces'} onClick={() => setParams({ view: 'traces', sort: null }, false)}>
            Traces
          </button>
        </div>
        <span class="count" aria-live="polite">
          {loading ? 'Loading…' : error ? (queryError ? 'Fix the query to search' : 'Search failed') : `${rows.toLocaleString()}${cursor ? '+' : ''} ${view}`}
          {view === 'traces' && cursor && traceOrder.col !== 'time' && !loading && ' · sorted among those loaded'}
        </span>
        <div class="spacer" />
        {!lang && (
          <SavedViews
            current={{ query, range: params.get('range') ?? (params.get('start') ? '' : '1h'), start: params.get('start') ?? '', end: params.get('end') ?? '', columns: cols }}
            onApply={applyView}
          />
        )}
        {!lang && (
          <Link class="btn" href={alertOnHref(query)} title="Create an alert rule over this query">
            Alert on this query
          </Link>
        )}
        {view === 'traces' && (
          <span class="compare-pick">
            {picked.length === 2 ? (
              <Link class="btn primary" href={`/traces/compare?a=${picked[0]}&b=${picked[1]}`}>
                Compare 2 traces
              </Link>
            ) : (
              <span class="hint">tick two traces to compare them</span>
            )}
          </span>
        )}
        {view === 'spans' && (
          <details class="columns">
            <summary class="btn">Columns</summary>
            <div class="popover">
              {BASE_COLS.map((c) => (
                <label key={c.id} class="check">
                  <input type="checkbox" checked={cols.includes(c.id)} onChange={() => setCols(cols.includes(c.id) ? cols.filter((x) => x !== c.id) : [...cols, c.id])} /> {c.label}
                </label>
              ))}
              {cols.filter((c) => c.startsWith('attr:')).map((c) => (
                <label key={c} class="check">
                  <input type="checkbox" checked onChange={() => setCols(cols.filter((x) => x !== c))} /> {c.slice(5)}
                </label>
              ))}
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  if (attrCol.trim()) setCols([...cols, `attr:${attrCol.trim()}`]);
                  setAttrCol('');
                }}
              >
                <input aria-label="Add attribute column" placeholder="attribute key, e.g. http.method" value={attrCol} onInput={(e) => setAttrCol((e.target as HTMLInputElement).value)} />
              </form>
            </div>
          </details>
        )}
      </div>

      {degraded && <p class="banner warn">{degraded}</p>}
      {error && !queryError && (
        <div class="banner err" role="alert">
          <strong>{error.status === 401 ? 'This project needs a key.' : error.missingRoute || error.status === 404 ? 'Not available on this server.' : 'The search failed.'}</strong> {error.message}
          {error.status === 401 && ' Set it with the Project button at the top right.'}{' '}
          <button type="button" class="btn retry" onClick={() => load(null)}>
            Try again
          </button>
        </div>
      )}

      {view === 'spans' ? (
        <div class="table-scroll">
          <table class="results" aria-label="Matching spans">
            <thead>
              <tr>
                {activeCols.map((c) =>
                  isSortable(c.id) ? (
                    <th key={c.id} class={c.id === 'duration' ? 'num' : undefined} aria-sort={ariaSort(c.id) as 'none'}>
                      <button type="button" class="th-btn" onClick={() => setSort(c.id)}>
                        {c.label}
                        {sortMark(c.id)}
                      </button>
                    </th>
                  ) : (
                    <th key={c.id}>{c.label}</th>
                  ),
                )}
              </tr>
            </thead>
            <tbody>
              {sortedSpans.map((s) => (
                <tr
                  key={`${s.trace_id}-${s.span_id}`}
                  class={`peekable${s.status_code === 'error' ? ' row-err' : ''}`}
                  data-trace-id={s.trace_id}
                  data-span-id={s.span_id}
                  onClick={(e) => peekFrom(e as MouseEvent, s.trace_id, s.span_id)}
                >
                  {activeCols.map((c) =>
                    c.id === 'name' ? (
                      <td key={c.id} class="name-cell">
                        <a href={traceHref(s.trace_id, s.span_id)} onClick={(e) => linkClick(e as MouseEvent, traceHref(s.trace_id, s.span_id))}>
                          {s.name}
                        </a>
                      </td>
                    ) : (
                      <Fragmentless key={c.id}>{cell(s, c)}</Fragmentless>
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div class="table-scroll">
          <table class="results" aria-label="Matching traces">
            <thead>
              <tr>
                <th>
                  <span class="visually-hidden">Compare</span>
                </th>
                {traceTh('time', 'Start')}
                <th>Root service</th>
                <th>Root span</th>
                {traceTh('duration', 'Duration', true)}
                {traceTh('spans', 'Spans', true)}
                {traceTh('errors', 'Errors', true)}
                <th>Services</th>
                <th>Trace ID</th>
              </tr>
            </thead>
            <tbody>
              {sortedTraces.map((t) => (
                <tr
                  key={t.trace_id}
                  class={`peekable${t.error_count ? ' row-err' : ''}`}
                  data-trace-id={t.trace_id}
                  onClick={(e) => peekFrom(e as MouseEvent, t.trace_id, t.matched_span_ids[0])}
                >
                  <td onClick={(e) => e.stopPropagation()}>
                    <input type="checkbox" class="compare-check" aria-label={`Compare trace ${t.trace_id}`} checked={picked.includes(t.trace_id)} onChange={() => togglePick(t.trace_id)} />
                  </td>
                  <td class="mono nowrap">{fmtTime(t.start)}</td>
                  <td class="nowrap">
                    <i class="dot" style={{ background: serviceColor(t.root_service) }} />
                    {t.root_service}
                  </td>
                  <td class="name-cell">
                    <a href={traceHref(t.trace_id, t.matched_span_ids[0])} onClick={(e) => linkClick(e as MouseEvent, traceHref(t.trace_id, t.matched_span_ids[0]))}>
                      {t.root_name || '(missing root)'}
                    </a>
                  </td>
                  <td class="dur-cell num">
                    <span class="dur-bar" style={{ width: `${Math.max(1, (t.duration / maxDur) * 100)}%` }} />
                    <span class="mono">{fmtDuration(t.duration)}</span>
                  </td>
                  <td class="num">{t.span_count}</td>
                  <td class="num">{t.error_count ? <span class="pill err">{t.error_count}</span> : 0}</td>
                  <td>{t.services.join(', ')}</td>
                  <td class="mono">{t.trace_id.slice(0, 16)}…</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {loading && rows === 0 && (
        <div class="skeleton" aria-hidden="true" data-testid="results-skeleton">
          {Array.from({ length: 6 }, (_, i) => (
            <div key={i} class="skeleton-row" style={{ width: `${90 - (i % 3) * 15}%` }} />
          ))}
        </div>
      )}
      {!loading && !error && rows === 0 && (
        <div class="empty-state">
          <h2>No {view} found</h2>
          <p>
            Nothing matched {query ? <code>{query}</code> : 'in this range'} between {fmtTime(range.start)} and {fmtTime(range.end)}. Try a wider time range (
            <WiderRangeLink>last 7 days</WiderRangeLink>)
            {query && (
              <>
                {' '}or{' '}
                <a href="#" onClick={(e) => { e.preventDefault(); setParams({ query: null }, false); }}>clear the query</a>
              </>
            )}
            . No data at all? Send OTLP to <code>:4318/v1/traces</code> (HTTP) or <code>:4317</code> (gRPC).
          </p>
        </div>
      )}
      <div ref={sentinel} class="sentinel" />
      {cursor && !loading && (
        <button type="button" class="btn more" onClick={() => load(cursor)}>
          Load more
        </button>
      )}
      {peek && (
        <aside class="drawer" role="complementary" aria-label="Trace">
          <div class="drawer-bar">
            <a href={traceHref(peek, params.get('span') ?? undefined)} onClick={(e) => linkClick(e as MouseEvent, traceHref(peek, params.get('span') ?? undefined))}>
              Open full page
            </a>
            <button type="button" class="btn drawer-close" aria-label="Close the trace (Esc)" onClick={closePeek}>
              ✕
            </button>
          </div>
          <TracePage key={peek} traceId={peek} params={params} />
        </aside>
      )}
    </main>
  );
}

function Fragmentless({ children }: { children: preact.ComponentChildren }) {
  return <>{children}</>;
}
