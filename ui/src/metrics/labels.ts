// A metric's labels as the filter's suggestions: point attributes are plain keys of the query
// language (`route:/a`), resource attributes `resource.`-scoped ones
// (`resource.host.name:web-1`), and `service` the resource's `service.name`.
import { metricLabels, metricLabelValues, type Suggestion, type SuggestSource, type TimeWindow } from '../lib/api';
import type { MetricLabels } from '../lib/types';

/** Keys every metric's filter takes besides its labels. */
export const METRIC_INTRINSICS = ['service'];

/** The query language's key of a label. */
export function filterKey(label: MetricLabels['labels'][number]): string {
  return label.scope === 'resource' ? `resource.${label.key}` : label.key;
}

/** The label a key of the filter names (what the label values route takes). */
export function labelOf(key: string): string {
  if (key === 'service' || key === 'service_name') return 'service.name';
  return key.replace(/^resource\./, '');
}

/** The keys of a metric's labels starting with `prefix`, with their scope and how many series carry them. */
export function keySuggestions(labels: MetricLabels['labels'], prefix: string): Suggestion[] {
  return labels
    .map((l) => ({ value: filterKey(l), detail: `${l.scope} · ${l.series} series` }))
    .filter((s) => s.value.startsWith(prefix));
}

/** The suggestions of a metric's filter, from its labels in the window. */
export function labelSource(metric: string, w: TimeWindow): SuggestSource {
  return {
    keys: async (prefix, signal) => keySuggestions((await metricLabels(metric, w, signal)).labels, prefix),
    values: async (key, prefix, signal) => {
      const { values } = await metricLabelValues(metric, labelOf(key), w, signal);
      return values.filter((v) => v.value.startsWith(prefix)).map((v) => ({ value: v.value, detail: `${v.series} series` }));
    },
  };
}
