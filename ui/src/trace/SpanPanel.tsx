import { useState } from 'preact/hooks';
import { fmtDuration, fmtTime, fmtValue, serviceColor } from '../lib/format';
import { linkClick } from '../lib/router';
import type { Attrs, Span } from '../lib/types';

interface Props {
  span: Span;
  onFilter: (key: string, value: unknown) => void;
}

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

function CopyBtn({ text, label }: { text: string; label: string }) {
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

function AttrTable({ title, attrs, filter, onFilter }: { title: string; attrs: Attrs; filter: string; onFilter: Props['onFilter'] }) {
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
                <td class="mono val">{fmtValue(v)}</td>
                <td class="actions">
                  <CopyBtn text={fmtValue(v)} label={`value of ${k}`} />
                  <button type="button" class="icon-btn add-filter" aria-label={`Add ${k} as filter`} title="Add as filter to the search" onClick={() => onFilter(k, v)}>
                    + filter
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function SpanPanel({ span: s, onFilter }: Props) {
  const [filter, setFilter] = useState('');
  const exceptions = s.events.filter((e) => e.name === 'exception');
  const intrinsics: Attrs = {
    span_kind: s.kind,
    service_version: s.service_version ?? null,
    environment: s.environment ?? null,
    session_id: s.session_id ?? null,
  };
  return (
    <aside class="span-panel" aria-label="Selected span">
      <header>
        <h2>
          <i class="dot" style={{ background: serviceColor(s.service_name) }} /> {s.name}
        </h2>
        <dl class="facts">
          <dt>Service</dt>
          <dd>{s.service_name}</dd>
          <dt>Duration</dt>
          <dd>{fmtDuration(s.duration_nanos)}</dd>
          <dt>Start</dt>
          <dd class="mono">{fmtTime(s.start_time_unix_nano)}</dd>
          <dt>Status</dt>
          <dd>
            <span class={`pill ${s.status_code}`}>{s.status_code}</span> {s.status_message}
          </dd>
          <dt>Span ID</dt>
          <dd class="mono">
            {s.span_id} <CopyBtn text={s.span_id} label="span id" />
          </dd>
          <dt>Trace ID</dt>
          <dd class="mono">
            {s.trace_id} <CopyBtn text={s.trace_id} label="trace id" />
          </dd>
          {s.parent_span_id && (
            <>
              <dt>Parent</dt>
              <dd class="mono">{s.parent_span_id}</dd>
            </>
          )}
        </dl>
      </header>

      {exceptions.length > 0 && (
        <section class="exceptions" aria-label="Errors">
          <h3>Errors</h3>
          {exceptions.map((e, i) => (
            <div key={i} class="exception">
              <strong>{String(e.attributes['exception.type'] ?? 'exception')}</strong>: {String(e.attributes['exception.message'] ?? '')}
              {e.attributes['exception.stacktrace'] !== undefined && <pre class="stack">{String(e.attributes['exception.stacktrace'])}</pre>}
            </div>
          ))}
        </section>
      )}

      <div class="attr-search">
        <label for="attr-filter" class="visually-hidden">
          Search attributes
        </label>
        <input id="attr-filter" type="search" placeholder="Search attributes…" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      </div>
      <AttrTable title="Span attributes" attrs={s.attributes} filter={filter} onFilter={onFilter} />
      <AttrTable title="Resource attributes" attrs={s.resource_attributes} filter={filter} onFilter={onFilter} />
      <AttrTable title="Span fields" attrs={intrinsics} filter={filter} onFilter={onFilter} />

      <section aria-label="Events">
        <h3>
          Events <span class="badge">{s.events.length}</span>
        </h3>
        {s.events.length > 0 && (
          <div class="ev-timeline" aria-hidden="true">
            {s.events.map((e, i) => (
              <i
                key={i}
                class={`ev-mark${e.name === 'exception' ? ' exc' : ''}`}
                title={`${e.name} at +${fmtDuration(e.time_unix_nano - s.start_time_unix_nano)}`}
                style={{ left: `${s.duration_nanos ? Math.min(100, Math.max(0, ((e.time_unix_nano - s.start_time_unix_nano) / s.duration_nanos) * 100)) : 0}%` }}
              />
            ))}
          </div>
        )}
        <ul class="events">
          {s.events.map((e, i) => (
            <li key={i}>
              <span class="mono">+{fmtDuration(e.time_unix_nano - s.start_time_unix_nano)}</span> <strong>{e.name}</strong>
              {Object.keys(e.attributes ?? {}).length > 0 && (
                <table class="kv small">
                  <tbody>
                    {Object.entries(e.attributes).filter(([k]) => k !== 'exception.stacktrace').map(([k, v]) => (
                      <tr key={k}>
                        <th scope="row" class="mono">{k}</th>
                        <td class="mono val">{fmtValue(v)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </li>
          ))}
        </ul>
      </section>

      <section aria-label="Links">
        <h3>
          Links <span class="badge">{s.links.length}</span>
        </h3>
        <ul class="links">
          {s.links.map((l, i) => {
            const href = `/traces/${l.trace_id}?span=${l.span_id}`;
            return (
              <li key={i}>
                <a href={href} class="mono span-link" onClick={(e) => linkClick(e as MouseEvent, href)}>
                  {l.trace_id.slice(0, 16)}… / {l.span_id}
                </a>
                {Object.keys(l.attributes ?? {}).length > 0 && <span class="hint"> {Object.entries(l.attributes).map(([k, v]) => `${k}=${fmtValue(v)}`).join(' ')}</span>}
              </li>
            );
          })}
        </ul>
      </section>
      <section aria-label="Logs">
        <h3>Logs</h3>
        <p class="hint">Logs emitted inside this span appear here once tracehouse stores logs.</p>
      </section>
    </aside>
  );
}

