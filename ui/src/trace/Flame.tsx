import { fmtDuration, serviceColor, serviceTint } from '../lib/format';
import { pathTo, type Node, type TraceTree } from './model';

interface Props {
  tree: TraceTree;
  zoom: string | null;
  selected: string | null;
  matches: Set<string> | null;
  onZoom: (id: string | null) => void;
  onSelect: (id: string) => void;
}

const ROW = 22;

/** Icicle chart: x = time, y = depth; clicking a span zooms into it. */
export function Flame({ tree, zoom, selected, matches, onZoom, onSelect }: Props) {
  const zNode = zoom ? tree.byId.get(zoom) ?? null : null;
  const zs = zNode ? zNode.span.start_time_unix_nano : tree.start;
  const ze = zNode ? zNode.span.end_time_unix_nano : tree.end;
  const total = Math.max(1, ze - zs);
  const baseDepth = zNode ? zNode.depth : 0;
  const crumbs = zNode ? pathTo(zNode) : [];
  const inZoom = (n: Node) => {
    if (!zNode) return true;
    for (let p: Node | null = n; p; p = p.parent) if (p === zNode) return true;
    return false;
  };
  const shown = tree.ordered.filter((n) => {
    const s = n.span;
    if (s.end_time_unix_nano < zs || s.start_time_unix_nano > ze) return false;
    if (!inZoom(n)) return false;
    return ((Math.min(s.end_time_unix_nano, ze) - Math.max(s.start_time_unix_nano, zs)) / total) >= 0.0008 || s.span_id === selected;
  });
  const maxDepth = shown.reduce((m, n) => Math.max(m, n.depth - baseDepth), 0);

  return (
    <div class="flame">
      <nav class="crumbs" aria-label="Flame graph zoom">
        <button type="button" class={`crumb${zNode ? '' : ' on'}`} onClick={() => onZoom(null)}>
          Whole trace
        </button>
        {crumbs.map((n) => (
          <span key={n.span.span_id}>
            <span class="sep" aria-hidden="true">›</span>
            <button type="button" class={`crumb${n === zNode ? ' on' : ''}`} onClick={() => onZoom(n.span.span_id)}>
              {n.span.name}
            </button>
          </span>
        ))}
        <span class="hint">{fmtDuration(total)} shown · click a span to zoom</span>
      </nav>
      <div class="flame-body" role="group" aria-label="Flame graph" style={{ height: `${(maxDepth + 1) * ROW + 4}px` }}>
        {shown.map((n) => {
          const s = n.span;
          const a = Math.max(s.start_time_unix_nano, zs);
          const b = Math.min(s.end_time_unix_nano, ze);
          const left = ((a - zs) / total) * 100;
          const width = Math.max(0.08, ((b - a) / total) * 100);
          const cls = ['flame-node', n.error ? 'error' : '', s.span_id === selected ? 'selected' : '', matches?.has(s.span_id) ? 'match' : ''].join(' ');
          return (
            <button
              type="button"
              key={s.span_id}
              class={cls}
              data-span-id={s.span_id}
              title={`${s.name} (${s.service_name}) ${fmtDuration(s.duration_nanos)}`}
              style={{ left: `${left}%`, width: `${width}%`, top: `${(n.depth - baseDepth) * ROW}px`, background: serviceTint(s.service_name), borderColor: serviceColor(s.service_name) }}
              onClick={() => {
                onSelect(s.span_id);
                onZoom(s.span_id);
              }}
            >
              {n.error ? '⚠ ' : ''}
              {s.name} <small>{fmtDuration(s.duration_nanos)}</small>
            </button>
          );
        })}
      </div>
    </div>
  );
}
