import { useEffect, useState } from 'preact/hooks';
import { values, type Suggestion } from '../lib/api';
import { termValue, withTerm } from './pickers';

interface Props {
  query: string;
  start: string;
  end: string;
  onQuery: (q: string) => void;
}

const PICKERS = [
  { key: 'service_name', label: 'Service', all: 'All services' },
  { key: 'span_name', label: 'Operation', all: 'All operations' },
] as const;

/** Service and operation pickers beside the query bar: choosing one writes its term into the query text. */
export function Pickers({ query, start, end, onQuery }: Props) {
  const [options, setOptions] = useState<Record<string, Suggestion[]>>({});
  useEffect(() => {
    const ctl = new AbortController();
    for (const p of PICKERS) {
      values(p.key, '', { start, end }, ctl.signal)
        .then((list) => setOptions((o) => ({ ...o, [p.key]: list })))
        .catch(() => {
          /* no suggestions: the picker offers what the query already has */
        });
    }
    return () => ctl.abort();
  }, [start, end]);
  return (
    <div class="pickers">
      {PICKERS.map((p) => {
        const current = termValue(query, p.key);
        const list = options[p.key] ?? [];
        const known = current === null || list.some((o) => o.value === current);
        return (
          <label key={p.key} class="picker">
            <span class="visually-hidden">{p.label}</span>
            <select value={current ?? ''} aria-label={p.label} data-picker={p.key} onChange={(e) => onQuery(withTerm(query, p.key, (e.target as HTMLSelectElement).value || null))}>
              <option value="">{p.all}</option>
              {!known && current !== null && <option value={current}>{current}</option>}
              {list.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.value}
                </option>
              ))}
            </select>
          </label>
        );
      })}
    </div>
  );
}
