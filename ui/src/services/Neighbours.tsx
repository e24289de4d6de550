import { Link } from '../lib/links';
import { fmtDuration } from '../lib/format';
import type { ServiceGraph } from '../lib/types';
import { errorShare, neighbours } from './graph';
import { serviceHref } from './links';
import { fmtPercent, fmtRate } from './red';

/** The nodes a service calls and is called by, from the service map of the range. */
export function Neighbours({ service, graph, carry, seconds }: { service: string; graph: ServiceGraph; carry: Record<string, string>; seconds: number }) {
  const rows = neighbours(graph, service);
  if (rows.length === 0) return <p class="hint">No calls from or to {service} were seen in the range.</p>;
  return (
    <div class="table-scroll">
      <table class="results neighbours" aria-label={`Neighbours of ${service}`}>
        <thead>
          <tr>
            <th>Direction</th>
            <th>Node</th>
            <th>Kind</th>
            <th class="num">Calls</th>
            <th class="num">Rate</th>
            <th class="num">Errors</th>
            <th class="num">p95</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ role, node, edge }) => (
            <tr key={`${role}-${node.id}`} data-neighbour={node.id} data-role={role}>
              <td>{role === 'caller' ? 'called by' : 'calls'}</td>
              <td class="name-cell">{node.kind === 'service' ? <Link href={serviceHref(node.name, carry)}>{node.name}</Link> : node.name}</td>
              <td>{node.kind}</td>
              <td class="num" data-col="count">
                {edge.count.toLocaleString()}
              </td>
              <td class="num">{fmtRate(edge.count / Math.max(seconds, 1e-9))}</td>
              <td class={`num${edge.errors > 0 ? ' err-text' : ''}`} data-col="errors">
                {fmtPercent(errorShare(edge))}
              </td>
              <td class="num" data-col="p95" data-value={edge.p95}>
                {fmtDuration(edge.p95)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
