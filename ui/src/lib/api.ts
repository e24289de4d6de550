import type {
  AlertBody,
  AlertEvent,
  AlertRule,
  AlertView,
  Bucket,
  ErrorGroup,
  ErrorOccurrence,
  LogBucket,
  LogRecord,
  MetricLabels,
  MetricLabelValues,
  MetricNames,
  OperationList,
  OtelMetrics,
  QueryErrorInfo,
  SavedView,
  ServiceGraph,
  ServiceList,
  SessionSummary,
  Span,
  SpanMetrics,
  TraceComparison,
  TraceData,
  TraceRow,
  TraceStats,
  TypicalTrace,
} from './types';

/** An API failure: HTTP status plus the server's `{"error": {...}}` body when present. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly info: QueryErrorInfo,
    readonly path: string,
  ) {
    super(info.message);
  }
  /** True when the route does not exist on this server (an endpoint that has not landed yet). */
  get missingRoute(): boolean {
    return this.status === 404 && /no such route/i.test(this.info.message);
  }
}

const KEY_STORAGE = 'tracehouse.projectKey';

export function projectKey(): string {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

export function setProjectKey(key: string): void {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    /* storage unavailable: the key lives for this page only */
  }
}

type Params = Record<string, string | number | undefined | null>;

function qs(params: Params): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

export function getJson<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  return requestJson<T>('GET', path, params, undefined, signal);
}

/** A request to the API with an optional JSON body; a failure throws its [`ApiError`]. */
async function requestJson<T>(method: string, path: string, params: Params, json?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = projectKey();
  if (key) headers['x-tracehouse-key'] = key;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const url = path + qs(params);
  let res: Response;
  try {
    res = await fetch(url, { method, headers, signal, body: json === undefined ? undefined : JSON.stringify(json) });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, { message: `cannot reach the server (${(e as Error).message}); is tracehouse running?` }, path);
  }
  let body: unknown = null;
  const text = await res.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body as { error?: QueryErrorInfo } | null)?.error;
    const info: QueryErrorInfo = err && typeof err.message === 'string' ? err : { message: text || res.statusText };
    throw new ApiError(res.status, info, path);
  }
  return body as T;
}

/** The language of a search query: the tracehouse query language (absent) or TraceQL. */
export type QueryLang = 'traceql' | undefined;

export interface SearchParams {
  query: string;
  lang?: QueryLang;
  start: string;
  end: string;
  sort?: string;
  limit?: number;
  cursor?: string | null;
}

export interface SpanPage {
  spans: Span[];
  next_cursor: string | null;
  /** Set when the server has no search endpoint and an unfiltered listing was used instead. */
  degraded?: string;
}

export async function searchSpans(p: SearchParams, signal?: AbortSignal): Promise<SpanPage> {
  try {
    return await getJson<SpanPage>('/api/v1/spans/search', { ...p }, signal);
  } catch (e) {
    if (e instanceof ApiError && e.missingRoute) {
      if (p.query.trim() !== '') {
        throw new ApiError(404, { message: 'This server has no search endpoint yet (/api/v1/spans/search), so queries cannot be run. Clear the query to list recent spans.' }, e.path);
      }
      const page = await getJson<SpanPage>('/api/v1/spans', { start: p.start, end: p.end, limit: p.limit, cursor: p.cursor }, signal);
      return { ...page, degraded: 'This server has no search endpoint yet: showing all spans in the range without filtering.' };
    }
    throw e;
  }
}

interface RawTraceRow {
  trace_id: string;
  root_service?: string;
  root_service_name?: string;
  root_name?: string;
  root_span_name?: string;
  start?: number;
  start_ns?: number;
  start_time_unix_nano?: number;
  duration?: number;
  duration_ns?: number;
  duration_nanos?: number;
  span_count?: number;
  error_count?: number;
  services?: string[];
  matched_span_ids?: string[];
  matched?: string[];
}

export function normaliseTraceRow(r: RawTraceRow): TraceRow {
  return {
    trace_id: r.trace_id,
    root_service: r.root_service ?? r.root_service_name ?? '',
    root_name: r.root_name ?? r.root_span_name ?? '',
    start: r.start_ns ?? r.start ?? r.start_time_unix_nano ?? 0,
    duration: r.duration_ns ?? r.duration ?? r.duration_nanos ?? 0,
    span_count: r.span_count ?? 0,
    error_count: r.error_count ?? 0,
    services: r.services ?? [],
    matched_span_ids: r.matched_span_ids ?? r.matched ?? [],
  };
}

export async function searchTraces(p: SearchParams, signal?: AbortSignal): Promise<{ traces: TraceRow[]; next_cursor: string | null }> {
  const body = await getJson<{ traces?: RawTraceRow[]; rows?: RawTraceRow[]; next_cursor?: string | null }>(
    '/api/v1/traces/search',
    { query: p.query, lang: p.lang, start: p.start, end: p.end, limit: p.limit, cursor: p.cursor },
    signal,
  );
  return { traces: (body.traces ?? body.rows ?? []).map(normaliseTraceRow), next_cursor: body.next_cursor ?? null };
}

/** Counts over time of matching spans, or of traces with a matching span (each once). */
export async function histogram(p: { query: string; lang?: QueryLang; start: string; end: string; buckets: number }, signal?: AbortSignal, of: 'spans' | 'traces' = 'spans'): Promise<Bucket[]> {
  const body = await getJson<{ buckets: Bucket[] }>(`/api/v1/${of}/histogram`, p, signal);
  return body.buckets ?? [];
}

/** A whole trace with its critical path; `logs`, `errors` and the path are empty when the server predates them. */
export async function getTrace(id: string, signal?: AbortSignal): Promise<TraceData> {
  const body = await getJson<Partial<TraceData>>(`/api/v1/traces/${encodeURIComponent(id)}`, { critical_path: 'true' }, signal);
  return { spans: body.spans ?? [], logs: body.logs ?? [], errors: body.errors ?? [], critical_path: body.critical_path ?? [] };
}

/** A trace's statistics grouped by `by` (service, name or an attribute key), then by `then`. */
export function getTraceStats(id: string, by: string, then: string | null, signal?: AbortSignal): Promise<TraceStats> {
  return getJson<TraceStats>(`/api/v1/traces/${encodeURIComponent(id)}/stats`, { by, then: then ?? undefined }, signal);
}

/** Trace `b` aligned with trace `a`. */
export function compareTraces(a: string, b: string, signal?: AbortSignal): Promise<TraceComparison> {
  return getJson<TraceComparison>('/api/v1/traces/compare', { a, b }, signal);
}

/** Another trace of trace `id`'s root operation that took about its median time. */
export function typicalTrace(id: string, signal?: AbortSignal): Promise<TypicalTrace> {
  return getJson<TypicalTrace>(`/api/v1/traces/${encodeURIComponent(id)}/typical`, {}, signal);
}

/** The project's saved views, by name. */
export async function listViews(signal?: AbortSignal): Promise<SavedView[]> {
  return (await getJson<{ views: SavedView[] }>('/api/v1/views', {}, signal)).views;
}

/** One saved view by name. */
export function getView(name: string, signal?: AbortSignal): Promise<SavedView> {
  return getJson<SavedView>(`/api/v1/views/${encodeURIComponent(name)}`, {}, signal);
}

/** Saves a search under a name (replacing a view of that name). */
export function saveView(view: Omit<SavedView, 'saved_ns'>): Promise<SavedView> {
  const { name, ...body } = view;
  return requestJson<SavedView>('PUT', `/api/v1/views/${encodeURIComponent(name)}`, {}, body);
}

/** Deletes a saved view. */
export async function deleteView(name: string): Promise<void> {
  await requestJson<unknown>('DELETE', `/api/v1/views/${encodeURIComponent(name)}`, {});
}

/** The project's alert rules with their states, by id. */
export async function listAlerts(signal?: AbortSignal): Promise<AlertView[]> {
  return (await getJson<{ alerts: AlertView[] }>('/api/v1/alerts', {}, signal)).alerts;
}

/** Creates a rule (`id` absent) or replaces one. */
export function saveAlert(body: AlertBody, id?: string): Promise<AlertRule> {
  return id ? requestJson<AlertRule>('PUT', `/api/v1/alerts/${encodeURIComponent(id)}`, {}, body) : requestJson<AlertRule>('POST', '/api/v1/alerts', {}, body);
}

/** Deletes a rule. */
export async function deleteAlert(id: string): Promise<void> {
  await requestJson<unknown>('DELETE', `/api/v1/alerts/${encodeURIComponent(id)}`, {});
}

/** A rule's history, newest first. */
export async function alertHistory(id: string, signal?: AbortSignal): Promise<AlertEvent[]> {
  return (await getJson<{ events: AlertEvent[] }>(`/api/v1/alerts/${encodeURIComponent(id)}/history`, { limit: 100 }, signal)).events;
}

/** A time window as the API takes it: RFC 3339 strings, or omitted for the route's default. */
export interface TimeWindow {
  start?: string;
  end?: string;
}

/** One page of log search results. */
export interface LogPage {
  logs: LogRecord[];
  next_cursor: string | null;
}

/** Searches logs with the span query language compiled for logs (bare words match the body). */
export async function searchLogs(p: SearchParams, signal?: AbortSignal): Promise<LogPage> {
  const body = await getJson<Partial<LogPage>>('/api/v1/logs/search', { ...p }, signal);
  return { logs: body.logs ?? [], next_cursor: body.next_cursor ?? null };
}

/** Log counts over time, split by level. */
export async function logHistogram(p: { query: string; start: string; end: string; buckets: number }, signal?: AbortSignal): Promise<LogBucket[]> {
  const body = await getJson<{ buckets?: LogBucket[] }>('/api/v1/logs/histogram', p, signal);
  return body.buckets ?? [];
}

/** Error groups in a window, with `buckets` trend points each; `text` filters on type or message, `service` and `environment` keep one service's or environment's occurrences. */
export async function errorGroups(
  p: TimeWindow & { text?: string; service?: string; environment?: string; limit?: number; buckets?: number },
  signal?: AbortSignal,
): Promise<{ start_ns: number; width_ns: number; groups: ErrorGroup[] }> {
  const body = await getJson<{ start_ns?: number; width_ns?: number; groups?: ErrorGroup[] }>('/api/v1/errors/groups', { ...p }, signal);
  return { start_ns: body.start_ns ?? 0, width_ns: body.width_ns ?? 0, groups: body.groups ?? [] };
}

/** One error group and its newest occurrences. */
export async function errorGroup(
  fingerprint: string,
  p: TimeWindow & { limit?: number; buckets?: number },
  signal?: AbortSignal,
): Promise<{ group: ErrorGroup; occurrences: ErrorOccurrence[] }> {
  const body = await getJson<{ group: ErrorGroup; occurrences?: ErrorOccurrence[] }>(`/api/v1/errors/groups/${encodeURIComponent(fingerprint)}`, { ...p }, signal);
  return { group: body.group, occurrences: body.occurrences ?? [] };
}

/** Recent sessions, most recently active first. */
export async function listSessions(p: TimeWindow & { limit?: number }, signal?: AbortSignal): Promise<SessionSummary[]> {
  const body = await getJson<{ sessions?: SessionSummary[] }>('/api/v1/sessions', { ...p }, signal);
  return body.sessions ?? [];
}

/** Everything tied to one session, oldest first. */
export interface SessionDetail {
  session: SessionSummary;
  traces: TraceRow[];
  errors: ErrorOccurrence[];
  logs: LogRecord[];
}

/** One session with its traces, errors and logs. */
export async function getSession(id: string, p: TimeWindow, signal?: AbortSignal): Promise<SessionDetail> {
  const body = await getJson<{ session: SessionSummary; traces?: RawTraceRow[]; errors?: ErrorOccurrence[]; logs?: LogRecord[] }>(
    `/api/v1/sessions/${encodeURIComponent(id)}`,
    { ...p },
    signal,
  );
  return { session: body.session, traces: (body.traces ?? []).map(normaliseTraceRow), errors: body.errors ?? [], logs: body.logs ?? [] };
}

/** What the RED tables take: a range, an environment (empty: all) and a row order. */
export type RedRequest = TimeWindow & { environment?: string; sort?: string };

/** Each service's rate, errors and latency over a range. */
export function listServices(p: RedRequest, signal?: AbortSignal): Promise<ServiceList> {
  return getJson<ServiceList>('/api/v1/services', { ...p }, signal);
}

/** One service's operations (span name and kind) with their rate, errors and latency. */
export function listOperations(service: string, p: RedRequest, signal?: AbortSignal): Promise<OperationList> {
  return getJson<OperationList>(`/api/v1/services/${encodeURIComponent(service)}/operations`, { ...p }, signal);
}

/** The service map of a range, of one environment when given (empty: all). */
export function serviceGraph(p: TimeWindow & { environment?: string }, signal?: AbortSignal): Promise<ServiceGraph> {
  return getJson<ServiceGraph>('/api/v1/services/graph', { ...p }, signal);
}

/** A span metric (`fn`, e.g. `rate` or `p95(duration)`) of the spans matching `query` over time. */
export function spanMetrics(p: TimeWindow & { query: string; fn: string; by?: string; step?: string }, signal?: AbortSignal): Promise<SpanMetrics> {
  return getJson<SpanMetrics>('/api/v1/metrics/spans', { ...p }, signal);
}

/** The project's OTLP metrics in a window (of one service, when given). */
export function metricNames(p: TimeWindow & { service?: string }, signal?: AbortSignal): Promise<MetricNames> {
  return getJson<MetricNames>('/api/v1/metrics/names', { ...p }, signal);
}

/** A metric's label keys in a window. */
export function metricLabels(metric: string, w: TimeWindow, signal?: AbortSignal): Promise<MetricLabels> {
  return getJson<MetricLabels>(`/api/v1/metrics/${encodeURIComponent(metric)}/labels`, { ...w }, signal);
}

/** The values of a metric's label in a window, most series first. */
export function metricLabelValues(metric: string, key: string, w: TimeWindow, signal?: AbortSignal): Promise<MetricLabelValues> {
  return getJson<MetricLabelValues>(`/api/v1/metrics/${encodeURIComponent(metric)}/labels/${encodeURIComponent(key)}/values`, { ...w }, signal);
}

/** One OTLP metric over time: `fn` of its points matching `filter`, per group of the `by` labels. */
export function metricQuery(p: TimeWindow & { metric: string; filter?: string; fn: string; by?: string; step?: string }, signal?: AbortSignal): Promise<OtelMetrics> {
  return getJson<OtelMetrics>('/api/v1/metrics/query', { ...p }, signal);
}

export interface Suggestion {
  value: string;
  detail?: string;
}

function toSuggestions(list: unknown, field: string): Suggestion[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((item): Suggestion | null => {
      if (typeof item === 'string') return { value: item };
      if (item && typeof item === 'object') {
        const o = item as Record<string, unknown>;
        const v = o[field] ?? o.name ?? o.value ?? o.key;
        if (v === undefined || v === null) return null;
        const detail = o.type ?? o.count;
        return { value: String(v), detail: detail === undefined ? undefined : String(detail) };
      }
      return null;
    })
    .filter((s): s is Suggestion => s !== null);
}

/** Where a query bar's suggestions come from: the keys starting with a prefix, and a key's values. */
export interface SuggestSource {
  keys(prefix: string, signal: AbortSignal): Promise<Suggestion[]>;
  values(key: string, prefix: string, signal: AbortSignal): Promise<Suggestion[]>;
}

/** The searched range, and whether suggestions describe spans (default) or log records. */
type Window = { start?: string; end?: string; target?: 'spans' | 'logs' };

export async function keys(prefix: string, w: Window = {}, signal?: AbortSignal): Promise<Suggestion[]> {
  const body = await getJson<unknown>('/api/v1/keys', { prefix, ...w }, signal);
  const list = Array.isArray(body) ? body : (body as { keys?: unknown })?.keys;
  return toSuggestions(list, 'key');
}

export async function values(key: string, prefix: string, w: Window = {}, signal?: AbortSignal): Promise<Suggestion[]> {
  const body = await getJson<unknown>(`/api/v1/keys/${encodeURIComponent(key)}/values`, { prefix, ...w }, signal);
  const list = Array.isArray(body) ? body : (body as { values?: unknown })?.values;
  return toSuggestions(list, 'value');
}
