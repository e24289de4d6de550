import { withParams } from '../search/timerange';

/** A service's page, with the range and environment carried over (empty values dropped). */
export function serviceHref(service: string, carry: Record<string, string> = {}): string {
  return withParams(`/services/${encodeURIComponent(service)}`, carry);
}

/** The service map over a range (its own path, so that any name, `map` too, is a service's page under `/services/`). */
export function mapHref(carry: Record<string, string> = {}): string {
  return withParams('/service-map', carry);
}

/** The services table over a range. */
export function servicesHref(carry: Record<string, string> = {}): string {
  return withParams('/services', carry);
}
