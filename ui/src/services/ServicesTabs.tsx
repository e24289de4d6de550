import { Link } from '../lib/links';
import { mapHref, servicesHref } from './links';

/** The services table and the map, as two views of one section, with the range carried. */
export function ServicesTabs({ on, carry }: { on: 'table' | 'map'; carry: Record<string, string> }) {
  return (
    <nav class="seg-group services-tabs" aria-label="Services views">
      <Link href={servicesHref(carry)} class={`btn seg${on === 'table' ? ' on' : ''}`} aria-current={on === 'table' ? 'page' : undefined}>
        Table
      </Link>
      <Link href={mapHref(carry)} class={`btn seg${on === 'map' ? ' on' : ''}`} aria-current={on === 'map' ? 'page' : undefined}>
        Map
      </Link>
    </nav>
  );
}
