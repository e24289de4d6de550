import { serviceGraph } from '../lib/api';
import { fmtDuration, fmtTime } from '../lib/format';
import { RangePicker, useRange, WiderRangeLink } from '../search/RangePicker';
import { rangeParams } from '../search/timerange';
import { ApiBanner } from './ApiBanner';
import { EnvironmentFilter } from './EnvironmentFilter';
import { ServiceMap } from './ServiceMap';
import { ServicesTabs } from './ServicesTabs';
import { useApi } from '../lib/useApi';

/** The service map page: who calls whom over the range, of one environment or all. */
export function ServiceMapPage({ params }: { params: URLSearchParams }) {
  const env = params.get('environment') ?? '';
  const { range, startS, endS, refresh } = useRange(params);
  const { data, error } = useApi((signal) => serviceGraph({ start: startS, end: endS, environment: env || undefined }, signal), [startS, endS, env]);
  const carry = { ...rangeParams(range), environment: env };
  return (
    <main class="page services-page">
      <h1 class="page-title">Services</h1>
      <div class="search-controls">
        <ServicesTabs on="map" carry={carry} />
        <EnvironmentFilter env={env} start={startS} end={endS} />
        <RangePicker range={range} refresh={refresh} />
      </div>
      <ApiBanner error={error} what="the service map" />
      {data === null ? (
        !error && (
          <p class="hint" aria-live="polite">
            Loading the map…
          </p>
        )
      ) : data.nodes.length === 0 ? (
        <div class="empty-state">
          <h2>No services</h2>
          <p>
            No span{env ? <> of environment <code>{env}</code></> : null} arrived between {fmtTime(range.start)} and {fmtTime(range.end)}. <WiderRangeLink>Look at the last 7 days</WiderRangeLink>.
          </p>
        </div>
      ) : (
        <>
          <ServiceMap graph={data} seconds={(range.end - range.start) / 1e9} carry={carry} />
          <p class="hint">
            A call joins its callee when that starts from {fmtDuration(data.skew_window_ns)} before the range to {fmtDuration(data.join_window_ns)} after it; calls without one go to the
            database, queue or host their attributes name.
          </p>
        </>
      )}
    </main>
  );
}
