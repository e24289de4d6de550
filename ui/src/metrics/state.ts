// The Metrics explorer's state, all of it in the URL so that a view can be shared: the metric,
// its label filter, the function, the group-by labels and the step (the range is the range
// picker's `range` or `start`/`end`).
import { queryValue } from '../lib/format';
import type { MetricName } from '../lib/types';
import { withParams } from '../search/timerange';

/** The explorer's path (`/metrics` is the server's own Prometheus endpoint). */
export const EXPLORER_PATH = '/metrics-explorer';

export interface ExplorerState {
  metric: string;
  /** Label filter in the query language, e.g. `route:/checkout resource.host.name:web-1`. */
  filter: string;
  /** The function asked for; empty: the metric's default. */
  fn: string;
  by: string[];
  /** A duration such as `1m`; empty: the server's default (about 60 steps). */
  step: string;
}

/** Steps offered besides the default. */
export const STEPS = ['30s', '1m', '5m', '15m', '1h'];

/** The state written in a URL's parameters. */
export function readState(p: URLSearchParams): ExplorerState {
  const by = (p.get('by') ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return { metric: p.get('metric') ?? '', filter: p.get('filter') ?? '', fn: p.get('fn') ?? '', by: [...new Set(by)], step: p.get('step') ?? '' };
}

/** URL parameters of a state (empty ones dropped by `setParams`/`withParams`). */
export function stateParams(s: Partial<ExplorerState>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (s.metric !== undefined) out.metric = s.metric || null;
  if (s.filter !== undefined) out.filter = s.filter || null;
  if (s.fn !== undefined) out.fn = s.fn || null;
  if (s.by !== undefined) out.by = s.by.join(',') || null;
  if (s.step !== undefined) out.step = s.step || null;
  return out;
}

/** A link into the explorer showing a state over a range (URL params as from `rangeParams`). */
export function explorerHref(s: Partial<ExplorerState>, range: Record<string, string> = {}): string {
  return withParams(EXPLORER_PATH, { ...stateParams(s), ...range });
}

/** What a metric is best read as: the rate of a counter, the p95 of a histogram, else its average. */
export function defaultFn(m: Pick<MetricName, 'type' | 'functions'>): string {
  const preferred = m.type === 'sum' ? 'rate' : m.type === 'histogram' || m.type === 'exponential_histogram' ? 'p95' : 'avg';
  return m.functions.includes(preferred) ? preferred : (m.functions[0] ?? 'avg');
}

/** The function drawn: the one asked for when it applies to the metric, else its default. */
export function effectiveFn(asked: string, m: Pick<MetricName, 'type' | 'functions'>): string {
  return m.functions.includes(asked) ? asked : defaultFn(m);
}

/** The filter selecting one service's points. */
export function serviceFilter(service: string): string {
  return `service:${queryValue(service)}`;
}
