import { fmtAxisTime, fmtTime } from '../lib/format';
import { groupHref, Link, ServiceChips } from '../lib/links';
import type { ErrorGroup } from '../lib/types';
import { Sparkline } from './Sparkline';

/** Least height of a trend's non-zero point, px. */
const TREND_LIFT = 4;

/**
 * Error groups with their counts and trends, each linked to its page over the range in `carry`;
 * `services` shows who raised them; `trendFrom` is where the trends start when not at the range's start.
 */
export function GroupsTable({ groups, carry, label, services = true, trendFrom = null }: { groups: ErrorGroup[]; carry: Record<string, string>; label: string; services?: boolean; trendFrom?: number | null }) {
  return (
    <div class="table-scroll">
      <table class="results error-groups" aria-label={label}>
        <thead>
          <tr>
            <th>Error</th>
            {services && <th>Services</th>}
            <th class="num">Count</th>
            <th class="num">Traces</th>
            <th class="num">Sessions</th>
            <th>First seen</th>
            <th>Last seen</th>
            <th>
              Trend
              {trendFrom !== null && <span class="th-note"> since {fmtAxisTime(trendFrom, 3600e9)}</span>}
            </th>
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={g.fingerprint} data-fingerprint={g.fingerprint}>
              <td class="error-cell">
                <Link href={groupHref(g.fingerprint, carry)} class="error-type">
                  {g.type || '(no type)'}
                </Link>
                <div class="error-msg">{g.message}</div>
              </td>
              {services && (
                <td>
                  <ServiceChips services={g.services} />
                </td>
              )}
              <td class="num" data-testid="group-count">
                {g.count.toLocaleString()}
              </td>
              <td class="num">{g.trace_count.toLocaleString()}</td>
              <td class="num">{g.session_count.toLocaleString()}</td>
              <td class="mono nowrap">{fmtTime(g.first_seen_ns)}</td>
              <td class="mono nowrap">{fmtTime(g.last_seen_ns)}</td>
              <td>
                <Sparkline values={g.trend} label={`Trend of ${g.type}${trendFrom === null ? '' : ` since ${fmtTime(trendFrom)}`}`} lift={TREND_LIFT} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
