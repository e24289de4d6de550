import { useEffect, useState } from 'preact/hooks';
import { fmtDuration } from '../lib/format';
import { linkClick } from '../lib/router';
import type { GraphNode, ServiceGraph } from '../lib/types';
import { errorLevel, errorShare } from './graph';
import { layoutMap, type MapLayout, type PlacedEdge, type PlacedNode } from './layout';
import { serviceHref } from './links';
import { fmtPercent, fmtRate } from './red';

/** dagre, loaded on first use as a chunk of its own. */
const loadDagre = () => import('@dagrejs/dagre').then((m) => m.default);

const ZOOMS = [0.5, 0.67, 0.8, 1, 1.25, 1.5, 2];
const ACTUAL = ZOOMS.indexOf(1);

/** The legend of the node colours (`errorLevel`). */
const LEVELS = [
  ['ok', 'no errors'],
  ['warn', 'under 5 % failed'],
  ['err', '5 % or more failed'],
] as const;

/** A node's second line: its rate and error share (a peer's: of the calls to it). */
function detail(n: GraphNode, seconds: number): string {
  const what = n.kind === 'service' ? '' : `${n.kind} · `;
  return `${what}${fmtRate(n.count / Math.max(seconds, 1e-9))} · ${fmtPercent(errorShare(n))} err`;
}

function edgePath(e: PlacedEdge): string {
  return e.points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
}

function MapNode({ p, seconds, carry, dim, onHover }: { p: PlacedNode; seconds: number; carry: Record<string, string>; dim: boolean; onHover: (id: string | null) => void }) {
  const n = p.node;
  const share = errorShare(n);
  const shape = (
    <>
      <rect x={p.x - p.width / 2} y={p.y - p.height / 2} width={p.width} height={p.height} rx={n.kind === 'service' ? 6 : p.height / 2} />
      <text x={p.x} y={p.y - 4} class="map-name">
        {n.name}
      </text>
      <text x={p.x} y={p.y + 13} class="map-detail">
        {detail(n, seconds)}
      </text>
    </>
  );
  const cls = `map-node lvl-${errorLevel(share)} kind-${n.kind}${dim ? ' dim' : ''}`;
  const hover = { onMouseEnter: () => onHover(n.id), onMouseLeave: () => onHover(null), onFocus: () => onHover(n.id), onBlur: () => onHover(null) };
  if (n.kind !== 'service') {
    const label = `${n.name}: ${n.kind}, ${n.count} calls, ${fmtPercent(share)} failed`;
    return (
      <g class={cls} data-node={n.id} role="img" aria-label={label} {...hover}>
        {shape}
      </g>
    );
  }
  const href = serviceHref(n.name, carry);
  return (
    <a href={href} class={cls} data-node={n.id} onClick={(e) => linkClick(e as MouseEvent, href)} {...hover}>
      {shape}
    </a>
  );
}

/**
 * The service map drawn from dagre's layout: services and peers as boxes coloured by their
 * error share, calls as arrows labelled with rate and p95. Hovering (or focusing) a node
 * dims what does not touch it; a service opens its page; zoom scales the drawing, which
 * scrolls inside its frame.
 */
export function ServiceMap({ graph, seconds, carry }: { graph: ServiceGraph; seconds: number; carry: Record<string, string> }) {
  const [map, setMap] = useState<MapLayout | null>(null);
  const [zoom, setZoom] = useState(ACTUAL);
  const [hover, setHover] = useState<string | null>(null);
  useEffect(() => {
    let gone = false;
    loadDagre().then((dagre) => !gone && setMap(layoutMap(dagre, graph, seconds, (n) => detail(n, seconds))));
    return () => {
      gone = true;
    };
  }, [graph, seconds]);
  if (!map) return <p class="hint">Laying out the map…</p>;
  const touches = (e: PlacedEdge) => hover === null || e.edge.source === hover || e.edge.target === hover;
  const near = new Set(map.edges.filter((e) => hover !== null && touches(e)).flatMap((e) => [e.edge.source, e.edge.target]));
  const scale = ZOOMS[zoom];
  return (
    <section class="service-map" aria-label="Service map">
      <div class="map-tools" role="group" aria-label="Zoom">
        <button type="button" class="btn seg" aria-label="Zoom out" disabled={zoom === 0} onClick={() => setZoom(zoom - 1)}>
          −
        </button>
        <button type="button" class="btn seg" aria-label={`${Math.round(scale * 100)}%: back to actual size`} onClick={() => setZoom(ACTUAL)}>
          {Math.round(scale * 100)}%
        </button>
        <button type="button" class="btn seg" aria-label="Zoom in" disabled={zoom === ZOOMS.length - 1} onClick={() => setZoom(zoom + 1)}>
          +
        </button>
        <span class="legend">
          {LEVELS.map(([lvl, text]) => (
            <span key={lvl} class="nowrap">
              <i class={`dot lvl-${lvl}`} /> {text}
            </span>
          ))}
        </span>
      </div>
      <div class="map-frame">
        <svg class="map-svg" width={map.width * scale} height={map.height * scale} viewBox={`0 0 ${map.width} ${map.height}`}>
          <defs>
            <marker id="map-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0 0 L10 5 L0 10 z" class="map-arrow" />
            </marker>
          </defs>
          {map.edges.map((e) => (
            <g key={`${e.edge.source}>${e.edge.target}`} class={`map-edge${e.edge.errors > 0 ? ' has-err' : ''}${touches(e) ? '' : ' dim'}`} data-edge={`${e.edge.source}>${e.edge.target}`} data-count={e.edge.count} data-p95={e.edge.p95}>
              <title>{`${e.edge.source} → ${e.edge.target}: ${e.edge.count} calls, ${e.edge.errors} failed, p50 ${fmtDuration(e.edge.p50)}, p95 ${fmtDuration(e.edge.p95)}`}</title>
              <path d={edgePath(e)} marker-end="url(#map-arrow)" />
              <rect x={e.label.x - e.label.width / 2} y={e.label.y - e.label.height / 2} width={e.label.width} height={e.label.height} rx={3} class="map-label-bg" />
              <text x={e.label.x} y={e.label.y + 4} class="map-label">
                {e.label.text}
              </text>
            </g>
          ))}
          {map.nodes.map((p) => (
            <MapNode key={p.node.id} p={p} seconds={seconds} carry={carry} dim={hover !== null && p.node.id !== hover && !near.has(p.node.id)} onHover={setHover} />
          ))}
        </svg>
      </div>
    </section>
  );
}
