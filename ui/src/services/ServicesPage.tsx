import { listServices } from '../lib/api';
import { fmtTime } from '../lib/format';
import { Link } from '../lib/links';
import { setParams } from '../lib/router';
import { RangePicker, useRange } from '../search/RangePicker';
import { rangeParams } from '../search/timerange';
import { ApiBanner } from './ApiBanner';
import { EnvironmentFilter } from './EnvironmentFilter';
import { serviceHref } from './links';
import { sortOf } from './red';
import { RedTable } from './RedTable';
import { ServicesTabs } from './ServicesTabs';
import { useApi } from '../lib/useApi';

/** The services page: every service's rate, errors and latency over the range, sortable, by environment. */
export function ServicesPage({ params }: { params: URLSearchParams }) {
  const env = params.get('environment') ?? '';
  const sort = sortOf(params);
  const { range, startS, endS, refresh } = useRange(params);
  const { data, error } = useApi((signal) => listServices({ start: startS, end: endS, environment: env || undefined, sort }, signal), [startS, endS, env, sort]);
  const carry = { ...rangeParams(range), environment: env };
  return (
    <main class="page services-page">
      <h1 class="page-title">Services</h1>
      <div class="search-controls">
        <ServicesTabs on="table" carry={carry} />
        <EnvironmentFilter env={env} start={startS} end={endS} />
        <RangePicker range={range} refresh={refresh} />
      </div>
      <ApiBanner error={error} what="the services" />
      {data === null ? (
        !error && (
          <p class="hint" aria-live="polite">
            Loading services…
          </p>
        )
      ) : data.services.length === 0 ? (
        <div class="empty-state">
          <h2>No services</h2>
          <p>
            No span{env ? <> of environment <code>{env}</code></> : null} arrived between {fmtTime(range.start)} and {fmtTime(range.end)}.
          </p>
        </div>
      ) : (
        <>
          {data.truncated && <p class="hint">Only the 50 services with the most spans are listed.</p>}
          <RedTable
            label="Services"
            nameHeader="Service"
            rows={data.services.map((s) => ({ key: s.service, label: s.service, red: s.red, cell: <Link href={serviceHref(s.service, carry)}>{s.service}</Link> }))}
            window={data}
            sort={sort}
            onSort={(s) => setParams({ sort: s === 'rate' ? null : s }, false)}
          />
        </>
      )}
    </main>
  );
}
