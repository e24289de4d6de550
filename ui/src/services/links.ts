import { withParams } from '../search/timerange';

/** A service's page, with the range and environment carried over (empty values dropped). */
export function serviceHref(service: string, carry: Record<string, string> = {}): string {
  return withParams(`/services/${encodeURIComponent(service)}`, carry);
}

/** The services map over a range. */
export function mapHref(carry: Record<string, string> = {}): string {
  return withParams('/services/map', carry);
}

/** The services table over a range. */
export function servicesHref(carry: Record<string, string> = {}): string {
  return withParams('/services', carry);
}
