import { fmtTime, serviceColor } from '../lib/format';
import { groupHref, Link, sessionHref, traceHref } from '../lib/links';
import type { ErrorOccurrence } from '../lib/types';

interface Props {
  occurrences: ErrorOccurrence[];
  label: string;
  /** Range URL params carried to the linked group and session pages. */
  range: Record<string, string>;
  /** Show the type and link each row to its group (off on a group's own page). */
  showGroup?: boolean;
}

/** Error occurrences as a table: time, error, service, and links to their trace and session. */
export function Occurrences({ occurrences, label, range, showGroup = false }: Props) {
  return (
    <div class="table-scroll">
      <table class="results occurrences" aria-label={label}>
        <thead>
          <tr>
            <th>Time</th>
            <th>{showGroup ? 'Error' : 'Message'}</th>
            <th>Service</th>
            <th>Trace</th>
            <th>Session</th>
          </tr>
        </thead>
        <tbody>
          {occurrences.map((o, i) => (
            <tr key={`${o.time_unix_nano}-${o.span_id ?? ''}-${i}`} class="row-err" data-trace-id={o.trace_id ?? undefined}>
              <td class="mono nowrap">{fmtTime(o.time_unix_nano)}</td>
              <td class="error-cell">
                {showGroup && (
                  <Link href={groupHref(o.fingerprint, range)} class="error-type">
                    {o.type || '(no type)'}
                  </Link>
                )}
                <div class="error-msg">{o.message}</div>
              </td>
              <td class="nowrap">
                <i class="dot" style={{ background: serviceColor(o.service_name) }} />
                {o.service_name}
              </td>
              <td>
                {o.trace_id ? (
                  <Link class="mono trace-link" href={traceHref(o.trace_id, o.span_id)}>
                    {o.trace_id.slice(0, 16)}…
                  </Link>
                ) : (
                  <span class="hint">none</span>
                )}
              </td>
              <td>
                {o.session_id ? (
                  <Link class="mono session-link" href={sessionHref(o.session_id, range)}>
                    {o.session_id}
                  </Link>
                ) : (
                  <span class="hint">none</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
