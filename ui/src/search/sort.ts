// The search's order as the URL and the API carry it (`sort`): `time_desc`, `time_asc`,
// `duration_desc`, `duration_asc`, or `<key>:desc` / `<key>:asc` for any key of the query
// language, which the server orders by (numbers first, then text, then spans without the key).

export type SortDir = 'asc' | 'desc';
export type SortState = { col: string; dir: SortDir };

// Result columns the server can order by, and the key each is ordered by (`null`: one of the
// built-in time and duration orders). Attribute columns (`attr:<key>`) order by their key.
const COLUMN_KEYS: Record<string, string | null> = {
  time: null,
  duration: null,
  service: 'service_name',
  name: 'span_name',
  kind: 'span_kind',
  status: 'status_code',
  environment: 'environment',
};

/** The key a column orders by, `null` for time and duration, `undefined` when not sortable. */
function columnKey(col: string): string | null | undefined {
  if (col.startsWith('attr:')) return col.slice(5);
  return COLUMN_KEYS[col];
}

export function isSortable(col: string): boolean {
  return columnKey(col) !== undefined;
}

/** The column and direction of a `sort` value (the default is newest first). */
export function parseSort(sort: string | null): SortState {
  const text = sort || 'time_desc';
  const colon = text.lastIndexOf(':');
  if (colon > 0) {
    const key = text.slice(0, colon);
    const dir: SortDir = text.slice(colon + 1) === 'asc' ? 'asc' : 'desc';
    const col = Object.keys(COLUMN_KEYS).find((c) => COLUMN_KEYS[c] === key) ?? `attr:${key}`;
    return { col, dir };
  }
  const [col, dir] = text.split('_');
  return { col: col === 'duration' ? 'duration' : 'time', dir: dir === 'asc' ? 'asc' : 'desc' };
}

/** The `sort` value for a column and direction. */
export function formatSort({ col, dir }: SortState): string {
  const key = columnKey(col);
  return key ? `${key}:${dir}` : `${col}_${dir}`;
}

/** A header click: DESC, then ASC, then back to the default order (`null`). */
export function nextSort(current: SortState, col: string): string | null {
  if (current.col !== col) return formatSort({ col, dir: 'desc' });
  if (current.dir === 'desc') return formatSort({ col, dir: 'asc' });
  return null;
}

/** Whether the page's order is the server's key order (the client must not re-sort it). */
export function isKeyOrder(s: SortState): boolean {
  return Boolean(columnKey(s.col));
}
