import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { keys, values, type QueryLang, type Suggestion, type SuggestSource } from '../lib/api';
import type { QueryErrorInfo } from '../lib/types';
import { byteToIndex, contextAt, tokenize, type Context } from './highlight';

/** Span fields every span has (suggested before attribute keys). */
export const SPAN_INTRINSICS = [
  'service_name', 'span_name', 'duration', 'status_code', 'status_message', 'span_kind', 'trace_id', 'span_id',
  'parent_span_id', 'service_version', 'environment', 'has_errors', 'secure_session_id',
];
const HISTORY_KEY = 'tracehouse.queryHistory';

function loadHistory(): string[] {
  try {
    return JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]') as string[];
  } catch {
    return [];
  }
}

function pushHistory(q: string) {
  if (!q.trim()) return;
  const h = [q, ...loadHistory().filter((x) => x !== q)].slice(0, 50);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(h));
  } catch {
    /* ignore */
  }
}

function quoteIfNeeded(v: string): string {
  return /^[^\s"'`()]+$/.test(v) ? v : `"${v.replace(/"/g, '\\"')}"`;
}

interface Props {
  value: string;
  error: QueryErrorInfo | null;
  onSubmit: (q: string) => void;
  /** The search range, so suggestions come from the same data. */
  start?: string;
  end?: string;
  /** Built-in keys of what is searched, suggested first (default: the span fields). */
  intrinsics?: readonly string[];
  /** Values known without asking the server, by key (e.g. log levels). */
  localValues?: Record<string, readonly string[]>;
  /** Whose keys and values the server suggests: spans (default) or log records. */
  target?: 'spans' | 'logs';
  /** Where suggestions come from instead of the span or log keys (kept stable by the caller). */
  source?: SuggestSource;
  placeholder?: string;
  /** The input's accessible name and the button's text. */
  label?: string;
  action?: string;
  /** The language of the query (TraceQL gets no highlighting or suggestions). */
  lang?: QueryLang;
}

const TRACEQL_PLACEHOLDER = 'TraceQL, e.g. { resource.service.name = "checkout" && duration > 250ms }';

export function QueryBar({
  value,
  error,
  onSubmit,
  start,
  end,
  intrinsics = SPAN_INTRINSICS,
  localValues,
  target = 'spans',
  source,
  placeholder = 'Search spans, e.g. service:checkout duration>250ms status_code:error',
  label = 'Search query',
  action = 'Search',
  lang,
}: Props) {
  const spanSource = useMemo<SuggestSource>(
    () => ({
      keys: (prefix, signal) => keys(prefix, { start, end, target }, signal),
      values: (key, prefix, signal) => values(key, prefix, { start, end, target }, signal),
    }),
    [start, end, target],
  );
  const suggest = source ?? spanSource;
  const traceql = lang === 'traceql';
  const [text, setText] = useState(value);
  const [cursor, setCursor] = useState(value.length);
  const [scroll, setScroll] = useState(0);
  const [items, setItems] = useState<Suggestion[]>([]);
  const [ctx, setCtx] = useState<Context>({ kind: 'none' });
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  // What the key handler must see: a key pressed before the re-render of the one before it
  // (Escape, then Enter at once) acts on the list as that key left it, not as last drawn.
  const openNow = useRef(false);
  const show = (v: boolean) => {
    openNow.current = v;
    setOpen(v);
  };
  const [histIdx, setHistIdx] = useState(-1);
  const [suggestNote, setSuggestNote] = useState('');
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => setText(value), [value]);

  // The error applies to the submitted text only.
  const showError = error && text === value ? error : null;
  // The highlighting and suggestions know the tracehouse language only.
  const tokens = useMemo(() => (traceql ? [{ cls: 'text' as const, start: 0, end: text.length }] : tokenize(text)), [text, traceql]);
  const errRange = useMemo(() => {
    if (!showError || showError.start === undefined) return null;
    const s = byteToIndex(text, showError.start);
    const e = byteToIndex(text, showError.end ?? showError.start);
    return { s, e };
  }, [showError, text]);

  // Autocomplete, debounced.
  useEffect(() => {
    if (!open) return;
    const c: Context = traceql ? { kind: 'none' } : contextAt(text, cursor);
    setCtx(c);
    if (c.kind === 'none') {
      setItems([]);
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(async () => {
      try {
        if (c.kind === 'key') {
          const local = intrinsics.filter((k) => k.startsWith(c.prefix.toLowerCase())).map((k) => ({ value: k, detail: 'intrinsic' }));
          let remote: Suggestion[] = [];
          try {
            remote = await suggest.keys(c.prefix, ctl.signal);
            setSuggestNote('');
          } catch (e) {
            if ((e as Error).name === 'AbortError') return;
            setSuggestNote('Key suggestions unavailable on this server (no /api/v1/keys).');
          }
          const seen = new Set(local.map((x) => x.value));
          setItems([...local, ...remote.filter((r) => !seen.has(r.value) && r.value.startsWith(c.prefix))].slice(0, 25));
        } else if (localValues?.[c.key]) {
          setItems(localValues[c.key].filter((v) => v.startsWith(c.prefix.toLowerCase())).map((v) => ({ value: v })));
          setSuggestNote('');
        } else {
          try {
            const vs = await suggest.values(c.key, c.prefix, ctl.signal);
            setItems(vs.slice(0, 25));
            setSuggestNote('');
          } catch (e) {
            if ((e as Error).name === 'AbortError') return;
            setItems([]);
            setSuggestNote('Value suggestions unavailable on this server.');
          }
        }
        setActive(0);
      } catch {
        /* aborted */
      }
    }, 200);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [text, cursor, open, suggest, intrinsics, localValues, traceql]);

  const submit = (raw: string) => {
    const q = raw.trim();
    setText(q);
    show(false);
    setHistIdx(-1);
    pushHistory(q);
    onSubmit(q);
  };

  const accept = (s: Suggestion) => {
    if (ctx.kind === 'none') return;
    let next: string;
    let pos: number;
    if (ctx.kind === 'key') {
      const ins = `${s.value}:`;
      next = text.slice(0, ctx.start) + ins + text.slice(ctx.end);
      pos = ctx.start + ins.length;
    } else {
      const ins = `${quoteIfNeeded(s.value)} `;
      const rest = text.slice(ctx.end).replace(/^\s+/, '');
      next = text.slice(0, ctx.start) + ins + rest;
      pos = ctx.start + ins.length;
    }
    setText(next);
    setCursor(pos);
    requestAnimationFrame(() => {
      input.current?.setSelectionRange(pos, pos);
      input.current?.focus();
    });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const listOpen = openNow.current && items.length > 0;
    if (e.key === 'ArrowDown' && listOpen) {
      e.preventDefault();
      setActive((a) => (a + 1) % items.length);
    } else if (e.key === 'ArrowUp' && listOpen && active > 0) {
      e.preventDefault();
      setActive((a) => a - 1);
    } else if (e.key === 'ArrowUp' || (e.key === 'ArrowDown' && histIdx >= 0)) {
      const h = loadHistory();
      if (!h.length) return;
      e.preventDefault();
      const idx = e.key === 'ArrowUp' ? Math.min(histIdx + 1, h.length - 1) : histIdx - 1;
      setHistIdx(idx);
      const q = idx < 0 ? value : h[idx];
      setText(q);
      show(false);
      requestAnimationFrame(() => input.current?.setSelectionRange(q.length, q.length));
    } else if (e.key === 'Tab' && listOpen) {
      e.preventDefault();
      accept(items[active]);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (listOpen && ctx.kind === 'value') {
        accept(items[active]);
        const c = ctx;
        const ins = `${quoteIfNeeded(items[active].value)} `;
        submit((text.slice(0, c.start) + ins + text.slice(c.end).replace(/^\s+/, '')).trim());
      } else if (listOpen && ctx.kind === 'key' && items[active] && !text.slice(ctx.start, ctx.end).includes(':') && (e.ctrlKey || e.metaKey)) {
        accept(items[active]);
      } else submit(text);
    } else if (e.key === 'Escape') {
      if (openNow.current) show(false);
      else input.current?.blur();
    }
  };

  const sync = () => {
    const el = input.current;
    if (!el) return;
    setCursor(el.selectionStart ?? el.value.length);
    setScroll(el.scrollLeft);
  };

  const render = () => {
    const out: preact.JSX.Element[] = [];
    for (const t of tokens) {
      const parts: Array<[number, number, boolean]> = [];
      if (errRange && errRange.e > errRange.s && t.end > errRange.s && t.start < errRange.e) {
        const a = Math.max(t.start, errRange.s);
        const b = Math.min(t.end, errRange.e);
        if (a > t.start) parts.push([t.start, a, false]);
        parts.push([a, b, true]);
        if (b < t.end) parts.push([b, t.end, false]);
      } else parts.push([t.start, t.end, false]);
      for (const [a, b, err] of parts) {
        out.push(
          <span key={`${a}`} class={`tok-${t.cls}${err ? ' tok-error' : ''}`} data-error={err ? '' : undefined}>
            {text.slice(a, b)}
          </span>,
        );
      }
    }
    if (errRange && errRange.e <= errRange.s) {
      out.push(
        <span key="eof" class="tok-error tok-missing" data-error="" title={showError?.message}>
          {'\u00a0'}
        </span>,
      );
    }
    return out;
  };

  return (
    <div class="querybar-wrap">
      <div class={`querybar${showError ? ' has-error' : ''}`}>

        <div class="qb-mirror" aria-hidden="true">
          <div style={{ transform: `translateX(${-scroll}px)` }}>{render()}</div>
        </div>
        <input
          ref={input}
          id="query"
          class="qb-input"
          aria-label={label}
          aria-invalid={showError ? 'true' : 'false'}
          aria-describedby={showError ? 'query-error' : undefined}
          aria-autocomplete="list"
          aria-controls="query-suggestions"
          aria-expanded={open && items.length > 0}
          role="combobox"
          spellcheck={false}
          autoComplete="off"
          placeholder={traceql ? TRACEQL_PLACEHOLDER : placeholder}
          value={text}
          onInput={(e) => {
            setText((e.target as HTMLInputElement).value);
            show(true);
            setHistIdx(-1);
            sync();
          }}
          onKeyDown={onKeyDown}
          onKeyUp={sync}
          onClick={() => {
            sync();
            show(true);
          }}
          onScroll={sync}
          onFocus={() => show(true)}
          onBlur={() => setTimeout(() => show(false), 150)}
        />
        <button type="button" class="btn primary" onClick={() => submit(text)}>
          {action}
        </button>
      </div>
      {open && (items.length > 0 || suggestNote) && (
        <ul id="query-suggestions" class="suggestions" role="listbox" aria-label={ctx.kind === 'value' ? 'Values' : 'Keys'}>
          {items.map((s, i) => (
            <li
              key={s.value}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              <span class="sugg-value">{s.value}</span>
              {s.detail && <span class="badge">{s.detail}</span>}
            </li>
          ))}
          {suggestNote && <li class="note">{suggestNote}</li>}
          <li class="note">Tab or Enter to accept · Esc to close · ↑ for history</li>
        </ul>
      )}
      {showError && (
        <p id="query-error" class="query-error" role="alert">
          {showError.message}
          {showError.expected && showError.expected.length > 0 && !showError.expected.every((x) => showError.message.includes(x)) && <> — expected {showError.expected.join(', ')}</>}
        </p>
      )}
    </div>
  );
}

/** The switch between the tracehouse query language and TraceQL. */
export function LangSwitch({ lang, onLang }: { lang: QueryLang; onLang: (lang: QueryLang) => void }) {
  const traceql = lang === 'traceql';
  return (
    <div class="seg-group" role="group" aria-label="Query language">
      <button type="button" class={`btn seg${traceql ? '' : ' on'}`} aria-pressed={!traceql} onClick={() => onLang(undefined)}>
        tracehouse
      </button>
      <button type="button" class={`btn seg${traceql ? ' on' : ''}`} aria-pressed={traceql} onClick={() => onLang('traceql')}>
        TraceQL
      </button>
    </div>
  );
}
