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
