import { metricNames, metricQuery, type TimeWindow } from '../lib/api';
import { Link } from '../lib/links';
import { navigate } from '../lib/router';
import type { MetricName } from '../lib/types';
import { useApi } from '../lib/useApi';
import { ApiBanner } from '../services/ApiBanner';
import { MetricChart } from './MetricChart';
import { metricKind } from './MetricPicker';
import { defaultFn, explorerHref, serviceFilter } from './state';

/** Metrics of a service charted on its page; the others are listed as links. */
const MAX_CHARTS = 6;

/** One of the service's metrics, its default function over the range (only the service's points), titled with a link into the explorer. */
function MetricCard({ service, metric, window, carry }: { service: string; metric: MetricName; window: TimeWindow; carry: Record<string, string> }) {
  const fn = defaultFn(metric);
  const filter = serviceFilter(service);
  const { data, error } = useApi((signal) => metricQuery({ metric: metric.name, filter, fn, ...window }, signal), [metric.name, filter, fn, window.start, window.end]);
  const href = explorerHref({ metric: metric.name, filter, fn }, carry);
  if (error) return <ApiBanner error={error} what={metric.name} />;
  if (!data) return <div class="chart metric-card" data-metric={metric.name} aria-busy="true" />;
  return (
    <div class="metric-card" data-metric={metric.name}>
      <MetricChart answer={data} fn={fn} height={150} pickHint="the metric in the explorer" onPick={() => navigate(href)} />
      <Link href={href} class="metric-card-link">
        Explore {metric.name}
      </Link>
    </div>
  );
}

/** A service's own OTLP metrics (points whose resource's `service.name` is the service): small charts of the first few, links to the rest. */
export function ServiceMetrics({ service, window, carry }: { service: string; window: TimeWindow; carry: Record<string, string> }) {
  const names = useApi((signal) => metricNames({ service, ...window }, signal), [service, window.start, window.end]);
  if (names.error) return <ApiBanner error={names.error} what="the service's metrics" />;
  if (!names.data) return null;
  const metrics = names.data.metrics;
  if (metrics.length === 0) return <p class="hint">No OTLP metric of {service} in the range (its resource's service.name).</p>;
  const rest = metrics.slice(MAX_CHARTS);
  return (
    <>
      <div class="chart-grid service-metrics">
        {metrics.slice(0, MAX_CHARTS).map((m) => (
          <MetricCard key={m.name} service={service} metric={m} window={window} carry={carry} />
        ))}
      </div>
      {rest.length > 0 && (
        <ul class="metric-catalogue" aria-label={`More metrics of ${service}`}>
          {rest.map((m) => (
            <li key={m.name}>
              <Link href={explorerHref({ metric: m.name, filter: serviceFilter(service) }, carry)} class="mono">
                {m.name}
              </Link>{' '}
              <span class="badge">{metricKind(m)}</span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
