import { queryValue } from '../lib/format';

/** A top-level `key:value` term of a query: `key` at a word start, its value up to the next space (or a quoted string). */
const termOf = (key: string) => new RegExp(`(^|\\s)${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:("(?:[^"\\\\]|\\\\.)*"|\\S+)`, 'g');

/** The value of the first top-level `key:value` term in `query`, unquoted; null when there is none. */
export function termValue(query: string, key: string): string | null {
  const m = termOf(key).exec(query);
  if (!m) return null;
  const v = m[2];
  return v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/** `query` with its `key:…` terms replaced by `key:value`, appended at the end (none for a null value). */
export function withTerm(query: string, key: string, value: string | null): string {
  const rest = query.replace(termOf(key), ' ').replace(/\s+/g, ' ').trim();
  if (value === null || value === '') return rest;
  const term = `${key}:${queryValue(value)}`;
  return rest ? `${rest} ${term}` : term;
}
