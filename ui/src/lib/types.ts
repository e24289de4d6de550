// The JSON API's types, as the UI names them: aliases of the schemas generated from the
// server's OpenAPI document (api.gen.ts, `npm run gen:api`), so the UI type-checks against
// what the server sends. Only the UI's own views of them are written here.
import type { components } from './api.gen';

type Schemas = components['schemas'];

/** An attribute value with its OpenTelemetry type kept (bytes as `{"$bytes": "<base64>"}`). */
export type AttrValue = Schemas['AttrValue'];
/** Attributes by key as the attribute tables show them: the server's attributes, or a table the UI
 * builds of a record's fields, where `null` marks a field the record does not have. */
export type Attrs = Record<string, AttrValue | null>;

export type SpanEvent = Schemas['Event'];
export type SpanLink = Schemas['Link'];
export type Span = Schemas['Span'];

/** A span as the trace view gets it: marked (and moved) when it was adjusted for clock skew. */
export type TraceSpan = Schemas['TraceSpan'];

/** One trace of a trace search or a session, as the server sends it. */
export type TraceSummary = Schemas['TraceSummary'];

/** A trace row as the search and session pages show it: a [`TraceSummary`] with its start and duration as `start` and `duration`. */
export type TraceRow = Omit<TraceSummary, 'start_ns' | 'duration_ns'> & {
  start: number;
  duration: number;
};

export type Bucket = Schemas['Bucket'];

/** The `error` of a failed request; `start`, `end` and `expected` locate a query that does not parse. */
export type QueryErrorInfo = Schemas['ErrorDetail'];

/** Coarse log level, as the server derives it from the OTLP severity. */
export type Level = Schemas['Level'];

/** One stored log record (OTLP log, normalised by the server). */
export type LogRecord = Schemas['LogRecord'];

/** One log histogram bucket: the total and the count per level (zero levels omitted). */
export type LogBucket = Schemas['LogBucket'];

/** One occurrence of an error: an exception span event or an error log with exception attributes. */
export type ErrorOccurrence = Schemas['ErrorOccurrence'];

/** Occurrences of one fingerprint in a time range, with a per-bucket trend. */
export type ErrorGroup = Schemas['ErrorGroup'];

/** One browser session: the traces and errors tied to one session id. */
export type SessionSummary = Schemas['SessionSummary'];

/** A stretch of a span's time on the critical path; the span is named by its index in the trace's spans. */
export type CriticalSection = Schemas['CriticalSection'];

/** A whole trace as the API returns it: spans, the logs and errors emitted in it, and its critical path. */
export type TraceData = Pick<Schemas['TraceDetail'], 'spans' | 'logs' | 'errors'> & { critical_path: CriticalSection[] };

/** A trace's statistics: its spans grouped (and sub-grouped) with count, durations and self time. */
export type TraceStats = Schemas['TraceStats'];
export type StatsGroup = Schemas['StatsGroup'];
export type StatsRow = Schemas['StatsRow'];

/** Two traces aligned by the server: rows depth first with both sides and the differences. */
export type TraceComparison = Schemas['TraceComparison'];
export type TypicalTrace = Schemas['TypicalTrace'];
export type CompareRow = Schemas['CompareRow'];

/** A saved search of the project: query, range (or start and end) and columns. */
export type SavedView = Schemas['SavedView'];
export type AlertRule = Schemas['AlertRule'];
export type AlertView = Schemas['AlertView'];
export type AlertEvent = Schemas['AlertEvent'];
export type AlertLink = Schemas['AlertLink'];
/** What creating or replacing a rule sends. */
export type AlertBody = Schemas['AlertBody'];

/** Rate, errors and latency of a service or an operation over a range, with its sparkline. */
export type Red = Schemas['Red'];
/** One step of a RED sparkline. */
export type RedPoint = Schemas['RedPoint'];
/** The services table of a range. */
export type ServiceList = Schemas['ServiceList'];
export type ServiceRed = Schemas['ServiceRed'];
/** The operations (span name and kind) of one service. */
export type OperationList = Schemas['OperationList'];
export type OperationRed = Schemas['OperationRed'];
/** The service map of a range: services, the peers they call, and the calls. */
export type ServiceGraph = Schemas['ServiceGraph'];
export type GraphNode = Schemas['GraphNode'];
export type GraphEdge = Schemas['GraphEdge'];
/** Span metrics over a range: one series per value of the `by` keys. */
export type SpanMetrics = Schemas['SpanMetrics'];
export type MetricSeries = Schemas['SeriesOut'];

/** OTLP metrics (not the span metrics): a metric of the project with the functions that apply to it. */
export type MetricName = Schemas['MetricName'];
export type MetricNames = Schemas['MetricNames'];
export type MetricLabels = Schemas['MetricLabels'];
export type MetricLabelValues = Schemas['MetricLabelValues'];
/** One OTLP metric over time: series per `by` group, each with its exemplars. */
export type OtelMetrics = Schemas['OtelMetricsAnswer'];
export type OtelSeries = Schemas['OtelSeries'];
export type SeriesExemplar = Schemas['SeriesExemplar'];
