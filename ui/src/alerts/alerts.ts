// The Alerts page's rules of its own: what a form holds and the body it sends, a rule's overall
// state, and the search that opens the data behind a history entry.
import { iso, withParams } from '../search/timerange';
import type { AlertBody, AlertLink, AlertRule, AlertView } from '../lib/types';

/** The rule form's fields, as the inputs hold them. */
export interface AlertForm {
  name: string;
  source: AlertBody['source'];
  query: string;
  function: AlertBody['function'];
  comparison: AlertBody['comparison'];
  threshold: string;
  window_s: string;
  interval_s: string;
  for_s: string;
  cooldown_s: string;
  by: string;
  /** One channel a line: `webhook <url>` or `slack <url>` (a bare URL is a webhook). */
  channels: string;
}

/** A new rule's form, with a query (and source) taken from `?query=` and `?source=` when given. */
export function newForm(params: URLSearchParams): AlertForm {
  const source = params.get('source');
  return {
    name: '',
    source: source === 'logs' || source === 'errors' ? source : 'spans',
    query: params.get('query') ?? '',
    function: 'error_rate',
    comparison: '>',
    threshold: '0.05',
    window_s: '300',
    interval_s: '60',
    for_s: '0',
    cooldown_s: '1800',
    by: '',
    channels: '',
  };
}

/** The form of an existing rule. */
export function formOf(r: AlertRule): AlertForm {
  return {
    name: r.name,
    source: r.source,
    query: r.query,
    function: r.function,
    comparison: r.comparison,
    threshold: String(r.threshold),
    window_s: String(r.window_s),
    interval_s: String(r.interval_s),
    for_s: String(r.for_s),
    cooldown_s: String(r.cooldown_s),
    by: r.by,
    channels: r.channels.map((c) => `${c.kind} ${c.url}`).join('\n'),
  };
}

/** The body a form sends (numbers as typed: the server says what is out of bounds). */
export function bodyOf(f: AlertForm): AlertBody {
  const channels = f.channels
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line): NonNullable<AlertBody['channels']>[number] => {
      const [first, ...rest] = line.split(/\s+/);
      if (first === 'slack' || first === 'webhook') return { kind: first, url: rest.join(' ') };
      return { kind: 'webhook', url: line };
    });
  return {
    name: f.name.trim(),
    source: f.source,
    query: f.query,
    function: f.function,
    comparison: f.comparison,
    threshold: Number(f.threshold),
    window_s: Number(f.window_s),
    interval_s: Number(f.interval_s),
    for_s: Number(f.for_s),
    cooldown_s: Number(f.cooldown_s),
    by: f.by.trim(),
    channels,
  };
}

/** The state a rule shows: its most urgent group's, `error` when its last evaluation failed. */
export function ruleStatus(v: AlertView): 'firing' | 'pending' | 'resolved' | 'ok' | 'error' {
  if (v.state?.error) return 'error';
  const order = ['firing', 'pending', 'resolved'] as const;
  const statuses = (v.state?.groups ?? []).map((g) => g.status);
  return order.find((s) => statuses.includes(s)) ?? 'ok';
}

/** The page showing the data behind a history entry: its search over its window. */
export function dataHref(link: AlertLink): string {
  const range = { start: iso(link.start_ns), end: iso(link.end_ns) };
  if (link.source === 'errors') return withParams('/errors', { text: link.query, ...range });
  return withParams(link.source === 'logs' ? '/logs' : '/', { query: link.query, ...range });
}

/** The Alerts page creating a rule over a search ("Alert on this query"). */
export function alertOnHref(query: string, source: AlertBody['source'] = 'spans'): string {
  return withParams('/alerts', { new: '1', query, source });
}
