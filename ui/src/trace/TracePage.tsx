import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, getTrace, typicalTrace } from '../lib/api';
import { fmtDuration, fmtTime, queryValue, registerServices, serviceColor } from '../lib/format';
import { linkClick, navigate, setParams } from '../lib/router';
import { groupHref, Link, sessionHref, ServiceChips } from '../lib/links';
import type { ErrorOccurrence, LogRecord, TraceData } from '../lib/types';
import { lastSearch } from '../search/SearchPage';
import { iso, rangeAround } from '../search/timerange';
import { Flame } from './Flame';
import { buildTree, sectionsByKey, spanMatches, visibleRows, type Node } from './model';
import { SpanPanel } from './SpanPanel';
import { Stats, type StatsPick } from './Stats';
import { Waterfall } from './Waterfall';
import { WatchSession } from './WatchSession';

export function TracePage({ traceId, params }: { traceId: string; params: URLSearchParams }) {
  const [data, setData] = useState<TraceData | null>(null);
  const spans = data?.spans ?? null;
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [find, setFind] = useState(params.get('find') ?? '');
  const [onlyMatches, setOnlyMatches] = useState(false);
  const [showCritical, setShowCritical] = useState(true);
  const findBox = useRef<HTMLInputElement>(null);
  const [statsPick, setStatsPick] = useState<StatsPick | null>(null);
  const tabParam = params.get('tab');
  const tab = tabParam === 'flame' || tabParam === 'stats' ? tabParam : 'waterfall';
  const zoom = params.get('zoom');

  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    getTrace(traceId, ctl.signal)
      .then(setData)
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e as ApiError);
      });
    return () => ctl.abort();
  }, [traceId, attempt]);

  const tree = useMemo(() => {
    const t = buildTree(spans ?? []);
    // The trace's services get distinct colours before anything draws them.
    registerServices(t.services);
    return t;
  }, [spans]);
  const logsBySpan = useMemo(() => groupBySpan(data?.logs ?? []), [data]);
  const errorsBySpan = useMemo(() => groupBySpan(data?.errors ?? []), [data]);
  // Distinct error groups of the trace (first occurrence of each) and the sessions its spans belong to.
  const groups = useMemo(() => {
    const byFp = new Map<string, { first: ErrorOccurrence; count: number }>();
    for (const e of data?.errors ?? []) {
      const g = byFp.get(e.fingerprint);
      if (g) g.count++;
      else byFp.set(e.fingerprint, { first: e, count: 1 });
    }
    return [...byFp.values()];
  }, [data]);
  const sessions = useMemo(() => [...new Set(tree.ordered.map((n) => n.span.session_id).filter((x): x is string => !!x))], [tree]);
  const around = useMemo(() => rangeAround(tree.start, tree.end), [tree]);
  const critical = useMemo(() => (showCritical ? sectionsByKey(tree, data?.critical_path ?? []) : null), [tree, data, showCritical]);
  const matches = useMemo(() => {
    if (!find.trim()) return null;
    return new Set(tree.ordered.filter((n) => !n.missing && spanMatches(n.span, find.trim())).map((n) => n.key));
  }, [tree, find]);
  const rows = useMemo(() => {
    const byFind = onlyMatches && matches ? (n: Node) => matches.has(n.key) : null;
    const byPick = statsPick ? (n: Node) => statsPick.keys.has(n.key) : null;
    const filter = byFind && byPick ? (n: Node) => byFind(n) && byPick(n) : byFind ?? byPick ?? undefined;
    return visibleRows(tree, collapsed, filter);
  }, [tree, collapsed, onlyMatches, matches, statsPick]);
  const selectedId = params.get('span') && tree.byId.has(params.get('span')!) ? params.get('span')! : tree.root?.span_id ?? null;
  const selectedNode = selectedId ? tree.byId.get(selectedId) ?? null : null;
  const selected = selectedNode && !selectedNode.missing ? selectedNode.span : null;

  // The latest selection, updated as soon as it changes, so that keys pressed before the next
  // render move from where the user actually is.
  const current = useRef<string | null>(selectedId);
  current.current = selectedId;
  const select = (id: string) => {
    current.current = id;
    setParams({ span: id });
  };
  // Functional update: two quick toggles (keyboard) must not both start from the same state.
  const toggle = (id: string) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  // Expand the ancestors of a deep-linked or found span so it is visible.
  useEffect(() => {
    if (!selectedId) return;
    const n = tree.byId.get(selectedId);
    if (!n) return;
    let changed = false;
    const next = new Set(collapsed);
    for (let p = n.parent; p; p = p.parent) if (next.delete(p.key)) changed = true;
    if (changed) setCollapsed(next);
  }, [selectedId, tree]);

  // Typing in the find box jumps to the first match (in row order) once the typing pauses.
  const typed = useRef(false);
  useEffect(() => {
    const t = setTimeout(() => {
      const first = typed.current && matches ? tree.ordered.find((n) => matches.has(n.key)) : undefined;
      setParams(first ? { find: find || null, span: first.key } : { find: find || null });
    }, 300);
    return () => clearTimeout(t);
  }, [find]);

  // Keyboard navigation.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      const idx = rows.findIndex((r) => r.key === current.current);
      const cur = idx >= 0 ? rows[idx] : null;
      switch (e.key) {
        case 'j':
        case 'ArrowDown':
          if (rows.length) select(rows[Math.min(rows.length - 1, idx + 1)].key);
          break;
        case 'k':
        case 'ArrowUp':
          if (rows.length) select(rows[Math.max(0, idx - 1)].key);
          break;
        case 'ArrowLeft':
        case 'h':
          if (cur && cur.children.length && !collapsed.has(cur.key)) toggle(cur.key);
          else if (cur?.parent) select(cur.parent.key);
          break;
        case 'ArrowRight':
        case 'l':
          if (cur && collapsed.has(cur.key)) toggle(cur.key);
          else if (cur?.children.length) select(cur.children[0].key);
          break;
        case 'Enter':
          if (cur && cur.children.length) toggle(cur.key);
          break;
        case '/':
          findBox.current?.focus();
          break;
        case 'f':
          setParams({ tab: tab === 'flame' ? null : 'flame' });
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [rows, selectedId, collapsed, tab]);

  const addFilter = (key: string, value: unknown) => {
    const prev = lastSearch() ?? new URLSearchParams();
    const term = `${key}:${queryValue(value)}`;
    const q = (prev.get('query') ?? '').trim();
    prev.set('query', q ? `${q} ${term}` : term);
    if (!prev.get('range') && !prev.get('start')) {
      // No earlier search: look around this trace.
      prev.set('start', iso(tree.start - 3600e9));
      prev.set('end', iso(tree.end + 3600e9));
    }
    prev.delete('sort');
    navigate(`/?${prev.toString()}`);
  };

  const backHref = (() => {
    const p = lastSearch();
    return p ? `/?${p.toString()}` : '/';
  })();

  if (error) {
    return (
      <main class="page empty-state">
        <h1>{error.status === 404 ? 'Trace not found' : 'Could not load the trace'}</h1>
        <p>
          {error.message}.{' '}
          {error.status === 404 && 'It may be outside the retention period, or its spans have not arrived yet: wait a few seconds and try again. '}
          {error.status === 401 && 'Set the project key with the Project button at the top right. '}
        </p>
        <p>
          <button type="button" class="btn primary retry" onClick={() => setAttempt(attempt + 1)}>
            Try again
          </button>{' '}
          <a href={backHref} onClick={(e) => linkClick(e as MouseEvent, backHref)}>
            Back to search
          </a>
        </p>
      </main>
    );
  }
  if (!spans) {
    return (
      <main class="page trace-page" aria-busy="true">
        <p class="hint" aria-live="polite">
          Loading trace {traceId}…
        </p>
        <div class="skeleton" aria-hidden="true">
          {Array.from({ length: 8 }, (_, i) => (
            <div key={i} class="skeleton-row" style={{ marginLeft: `${(i % 4) * 14}px`, width: `${60 - (i % 4) * 8}%` }} />
          ))}
        </div>
      </main>
    );
  }

  const root = tree.root;
  const matchList = matches ? tree.ordered.filter((n) => matches.has(n.key)) : [];
  const matchPos = matchList.findIndex((n) => n.key === selectedId);
  const jump = (dir: 1 | -1) => {
    if (!matchList.length) return;
    const i = matchPos < 0 ? (dir === 1 ? 0 : matchList.length - 1) : (matchPos + dir + matchList.length) % matchList.length;
    select(matchList[i].key);
  };

  return (
    <main class="page trace-page">
      <div class="trace-head">
        <a class="back" href={backHref} onClick={(e) => linkClick(e as MouseEvent, backHref)}>
          ← Search
        </a>
        <h1>
          {root ? (
            <>
              <i class="dot" style={{ background: serviceColor(root.service_name) }} /> {root.service_name}: {root.name}
            </>
          ) : (
            'Trace'
          )}
        </h1>
        <dl class="facts inline" aria-label="Trace summary">
          <dt>Trace</dt>
          <dd class="mono">{traceId}</dd>
          <dt>Start</dt>
          <dd class="mono">{fmtTime(tree.start)}</dd>
          <dt>Duration</dt>
          <dd data-testid="trace-duration">{fmtDuration(tree.end - tree.start)}</dd>
          <dt>Spans</dt>
          <dd data-testid="span-count">{tree.spanCount}</dd>
          <dt>Errors</dt>
          <dd data-testid="error-count" class={tree.errorCount ? 'err-text' : ''}>
            {tree.errorCount}
          </dd>
          {groups.length > 0 && (
            <>
              <dt>Error groups</dt>
              <dd data-testid="trace-errors">
                {groups.map(({ first, count }) => (
                  <Link key={first.fingerprint} class="trace-error-link" href={groupHref(first.fingerprint, around)} title={first.message}>
                    {first.type} ×{count}
                  </Link>
                ))}
              </dd>
            </>
          )}
          {sessions.length > 0 && (
            <>
              <dt>Session</dt>
              <dd>
                {sessions.map((id) => (
                  <span key={id} class="session-ref">
                    <Link class="mono session-link" href={sessionHref(id, around)}>
                      {id}
                    </Link>
                    <WatchSession sessionId={id} startNs={tree.start} range={around} />
                  </span>
                ))}
              </dd>
            </>
          )}
          <dt>Services</dt>
          <dd>
            <ServiceChips services={tree.services} />
          </dd>
        </dl>
        <CompareWith traceId={traceId} />
      </div>
      <div class="trace-toolbar">
        <div class="seg-group" role="tablist" aria-label="Trace view">
          <button type="button" role="tab" aria-selected={tab === 'waterfall'} class={`btn seg${tab === 'waterfall' ? ' on' : ''}`} onClick={() => setParams({ tab: null })}>
            Waterfall
          </button>
          <button type="button" role="tab" aria-selected={tab === 'flame'} class={`btn seg${tab === 'flame' ? ' on' : ''}`} onClick={() => setParams({ tab: 'flame' })}>
            Flame graph
          </button>
          <button type="button" role="tab" aria-selected={tab === 'stats'} class={`btn seg${tab === 'stats' ? ' on' : ''}`} onClick={() => setParams({ tab: 'stats' })}>
            Statistics
          </button>
        </div>
        {statsPick && (
          <span class="pill stats-pick" data-testid="stats-pick">
            {statsPick.label}
            <button type="button" class="icon-btn" aria-label="Show all spans" title="Show all spans" onClick={() => setStatsPick(null)}>
              ✕
            </button>
          </span>
        )}
        <div class="find">
          <label for="find" class="visually-hidden">
            Find in trace
          </label>
          <input
            ref={findBox}
            id="find"
            type="search"
            placeholder="Find in trace (name, service, attribute)… /"
            value={find}
            onInput={(e) => {
              typed.current = true;
              setFind((e.target as HTMLInputElement).value);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                jump(e.shiftKey ? -1 : 1);
              } else if (e.key === 'Escape') {
                setFind('');
                (e.target as HTMLInputElement).blur();
              }
            }}
          />
          {matches && (
            <span class="hint" aria-live="polite">
              {matchPos >= 0 ? `${matchPos + 1} of ` : ''}
              {matches.size} match{matches.size === 1 ? '' : 'es'}
            </span>
          )}
          <label class="check">
            <input type="checkbox" checked={onlyMatches} onChange={() => setOnlyMatches(!onlyMatches)} /> only matches
          </label>
        </div>
        <label class="check">
          <input type="checkbox" checked={showCritical} onChange={() => setShowCritical(!showCritical)} /> critical path
        </label>
        {tab === 'waterfall' && (
          <>
            <button type="button" class="btn" onClick={() => setCollapsed(new Set())}>
              Expand all
            </button>
            <button type="button" class="btn" onClick={() => setCollapsed(new Set(tree.ordered.filter((n) => n.children.length && n.depth > 0).map((n) => n.key)))}>
              Collapse all
            </button>
          </>
        )}
        <span class="hint kbd-hint">j/k move · ←/→ collapse/expand · Enter toggle · / find · f flame</span>
      </div>
      <div class="trace-body">
        <div class="trace-main">
          {tab === 'waterfall' ? (
            <Waterfall tree={tree} rows={rows} selected={selectedId} collapsed={collapsed} critical={critical} matches={matches} onSelect={select} onToggle={toggle} />
          ) : tab === 'stats' ? (
            <Stats
              traceId={traceId}
              tree={tree}
              by={params.get('by') || 'service'}
              then={params.get('then') || null}
              onKeys={(by, then) => setParams({ by: by === 'service' ? null : by, then })}
              onPick={(pick) => {
                setStatsPick(pick);
                setParams({ tab: null });
              }}
            />
          ) : (
            <Flame tree={tree} zoom={zoom} selected={selectedId} matches={matches} critical={critical} onZoom={(id) => setParams({ zoom: id })} onSelect={select} />
          )}
        </div>
        {selected && selectedNode && (
          <SpanPanel
            key={selectedNode.key}
            span={selected}
            duplicate={selectedNode.duplicate}
            onFilter={addFilter}
            logs={logsBySpan.get(selected.span_id) ?? []}
            errors={errorsBySpan.get(selected.span_id) ?? []}
            range={around}
          />
        )}
        {selectedNode?.missing && (
          <aside class="span-panel" aria-label="Missing parent">
            <h2 class="span-title">Missing parent</h2>
            <p>
              Span <code>{selectedNode.span.span_id}</code> is named as the parent of {selectedNode.children.length} span{selectedNode.children.length === 1 ? '' : 's'}, but it is not
              in this trace: it was not sent, was dropped by a sampler or a limit, or has not arrived yet.
            </p>
          </aside>
        )}
      </div>
    </main>
  );
}

/** Logs or errors of a trace by the span they were emitted in (those without a span are left out). */
function groupBySpan<T extends LogRecord | ErrorOccurrence>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) {
    if (!x.span_id) continue;
    const list = out.get(x.span_id);
    if (list) list.push(x);
    else out.set(x.span_id, [x]);
  }
  return out;
}

/** "Compare with" another trace by id: opens the comparison with this trace as the baseline. */
function CompareWith({ traceId }: { traceId: string }) {
  const [other, setOther] = useState('');
  const id = other.trim().toLowerCase().replace(/[\s-]/g, '');
  const ok = /^[0-9a-f]{32}$/.test(id);
  return (
    <form
      class="compare-with"
      onSubmit={(e) => {
        e.preventDefault();
        if (ok) navigate(`/traces/compare?a=${traceId}&b=${id}`);
      }}
    >
      <label for="compare-with">Compare with</label>
      <input id="compare-with" class="mono" placeholder="another trace id" value={other} onInput={(e) => setOther((e.target as HTMLInputElement).value)} />
      <button type="submit" class="btn" disabled={!ok}>
        Compare
      </button>
      <TypicalButton traceId={traceId} />
    </form>
  );
}

/** "Compare with a typical trace": asks the API for another trace of the root operation
 * near its median and opens the comparison; says why when there is none. */
function TypicalButton({ traceId }: { traceId: string }) {
  const [state, setState] = useState<{ busy: boolean; note: string }>({ busy: false, note: '' });
  const open = async () => {
    setState({ busy: true, note: '' });
    try {
      const typical = await typicalTrace(traceId);
      navigate(`/traces/compare?a=${traceId}&b=${typical.trace_id}`);
    } catch (e) {
      setState({ busy: false, note: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <>
      <button type="button" class="btn" disabled={state.busy} onClick={open} title="Compare with another trace of this root operation that took about its median time">
        Compare with typical
      </button>
      {state.note && (
        <span class="compare-note" role="status">
          {state.note}
        </span>
      )}
    </>
  );
}
