import { useState } from 'preact/hooks';
import { fmtValue } from '../lib/format';
import type { Attrs } from '../lib/types';

async function copy(text: string) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

/** A small "copy" button that copies `text` to the clipboard. */
export function CopyBtn({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="icon-btn"
      aria-label={`Copy ${label}`}
      title={`Copy ${label}`}
      onClick={async () => {
        await copy(text);
        setDone(true);
        setTimeout(() => setDone(false), 1200);
      }}
    >
      {done ? 'copied' : 'copy'}
    </button>
  );
}

/** A value that is a JSON object or array written as text (a request body, a config), pretty-printed; else null. */
export function prettyJson(v: unknown): string | null {
  if (typeof v === 'string') {
    const s = v.trim();
    if (!(s.startsWith('{') && s.endsWith('}')) && !(s.startsWith('[') && s.endsWith(']'))) return null;
    try {
      const parsed: unknown = JSON.parse(s);
      return parsed && typeof parsed === 'object' ? JSON.stringify(parsed, null, 2) : null;
    } catch {
      return null;
    }
  }
  return v && typeof v === 'object' && !('$bytes' in v) ? JSON.stringify(v, null, 2) : null;
}

/** An attribute value: JSON pretty-printed in a block, multi-line text (SQL, stacks) kept as written. */
export function Value({ value }: { value: unknown }) {
  const json = prettyJson(value);
  if (json !== null) return <pre class="code-value json">{json}</pre>;
  const text = fmtValue(value);
  if (text.includes('\n') || text.length > 60) return <pre class="code-value">{text}</pre>;
  return <>{text}</>;
}

/** Key/value table of attributes (sorted, empty values hidden), with copy and "add as filter" actions. */
export function AttrTable({ title, attrs, filter = '', onFilter }: { title: string; attrs: Attrs; filter?: string; onFilter?: (key: string, value: unknown) => void }) {
  const f = filter.toLowerCase();
  const entries = Object.entries(attrs ?? {})
    .filter(([k, v]) => v !== null && v !== '' && (!f || k.toLowerCase().includes(f) || fmtValue(v).toLowerCase().includes(f)))
    .sort(([a], [b]) => a.localeCompare(b));
  return (
    <section class="attrs" aria-label={title}>
      <h3>
        {title} <span class="badge">{entries.length}</span>
      </h3>
      {entries.length === 0 ? (
        <p class="hint">{filter ? 'No attribute matches the filter.' : 'None.'}</p>
      ) : (
        <table class="kv">
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k} data-attr-key={k}>
                <th scope="row" class="mono">
                  {k}
                </th>
                <td class="mono val">
                  <Value value={v} />
                </td>
                <td class="actions">
                  <CopyBtn text={prettyJson(v) ?? fmtValue(v)} label={`value of ${k}`} />
                  {onFilter && (
                    <button type="button" class="icon-btn add-filter" aria-label={`Add ${k} as filter`} title="Add as filter to the search" onClick={() => onFilter(k, v)}>
                      + filter
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
