export type AttrValue = string | number | boolean | null | AttrValue[] | { [k: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

export interface SpanEvent {
  time_unix_nano: number;
  name: string;
  attributes: Attrs;
}

export interface SpanLink {
  trace_id: string;
  span_id: string;
  trace_state?: string;
  attributes: Attrs;
}

export interface Span {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  service_name: string;
  service_version?: string | null;
  environment?: string | null;
  start_time_unix_nano: number;
  end_time_unix_nano: number;
  duration_nanos: number;
  status_code: 'unset' | 'ok' | 'error' | string;
  status_message?: string | null;
  attributes: Attrs;
  resource_attributes: Attrs;
  scope_attributes?: Attrs;
  events: SpanEvent[];
  links: SpanLink[];
  session_id?: string | null;
  has_error?: boolean;
}

export interface TraceRow {
  trace_id: string;
  root_service: string;
  root_name: string;
  start: number;
  duration: number;
  span_count: number;
  error_count: number;
  services: string[];
  matched_span_ids: string[];
}

export interface Bucket {
  start: number;
  end: number;
  count: number;
  error_count: number;
}

export interface QueryErrorInfo {
  message: string;
  start?: number;
  end?: number;
  expected?: string[];
}

/** Coarse log level, as the server derives it from the OTLP severity. */
export type Level = 'unknown' | 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** One stored log record (OTLP log, normalised by the server). */
export interface LogRecord {
  log_id: string;
  time_unix_nano: number;
  observed_time_unix_nano?: number;
  severity_number: number;
  severity_text: string;
  level: Level;
  body: string;
  trace_id: string | null;
  span_id: string | null;
  service_name: string;
  service_version?: string;
  environment?: string;
  scope_name?: string;
  session_id: string | null;
  attributes: Attrs;
  resource_attributes: Attrs;
  flags?: number;
  dropped_attributes_count?: number;
}

/** One log histogram bucket: the total and the count per level (zero levels omitted). */
export interface LogBucket {
  start: number;
  end: number;
  count: number;
  levels: Partial<Record<Level, number>>;
}

/** One occurrence of an error: an exception span event or an error log with exception attributes. */
export interface ErrorOccurrence {
  time_unix_nano: number;
  fingerprint: string;
  type: string;
  message: string;
  stacktrace: string;
  service_name: string;
  service_version?: string;
  environment?: string;
  trace_id: string | null;
  span_id: string | null;
  session_id: string | null;
  source: 'span_event' | 'log' | string;
}

/** Occurrences of one fingerprint in a time range, with a per-bucket trend. */
export interface ErrorGroup {
  fingerprint: string;
  type: string;
  message: string;
  stacktrace: string;
  services: string[];
  count: number;
  first_seen_ns: number;
  last_seen_ns: number;
  trace_count: number;
  session_count: number;
  trend: number[];
  example_trace_ids: string[];
}

/** One browser session: the traces and errors tied to one session id. */
export interface SessionSummary {
  session_id: string;
  start_ns: number;
  end_ns: number;
  duration_ns: number;
  trace_count: number;
  span_count: number;
  error_count: number;
  services: string[];
}

/** A whole trace as the API returns it: spans plus the logs and errors emitted in it. */
export interface TraceData {
  spans: Span[];
  logs: LogRecord[];
  errors: ErrorOccurrence[];
}
