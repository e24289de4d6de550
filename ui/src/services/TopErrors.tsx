import { errorGroups } from '../lib/api';
import { Link } from '../lib/links';
import { withParams } from '../search/timerange';
import { useApi } from '../lib/useApi';
import { GroupsTable } from '../errors/GroupsTable';
import { ApiBanner } from './ApiBanner';

/** Error groups shown on a service's page, and the trend points of each. */
const TOP_ERRORS = 5;
const TREND_BUCKETS = 24;

/** The error groups a service raised most in the range (in one environment, when given), counted over its own occurrences, each linked to its page. */
export function TopErrors({ service, env, start, end, carry }: { service: string; env: string; start: string; end: string; carry: Record<string, string> }) {
  const { data, error } = useApi(
    (signal) => errorGroups({ start, end, service, environment: env || undefined, limit: TOP_ERRORS, buckets: TREND_BUCKETS }, signal),
    [service, env, start, end],
  );
  return (
    <>
      <ApiBanner error={error} what="the service's errors" />
      {data?.groups.length === 0 && <p class="hint">{service} recorded no exception in the range.</p>}
      {data && data.groups.length > 0 && (
        <>
          <GroupsTable groups={data.groups} carry={carry} label={`Top errors of ${service}`} services={false} />
          <p class="hint">
            <Link href={withParams('/errors', { service, environment: env, ...carry })}>Every error group of {service}</Link>
          </p>
        </>
      )}
    </>
  );
}
