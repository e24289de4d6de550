import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { projectKey, setProjectKey } from './lib/api';
import { linkClick, navigate, useLocation } from './lib/router';
import { AlertsPage } from './alerts/AlertsPage';
import { ErrorGroupPage } from './errors/ErrorGroupPage';
import { ErrorsPage } from './errors/ErrorsPage';
import { LogsPage } from './logs/LogsPage';
import { EXPLORER_PATH } from './metrics/state';
import { lazy } from './lib/Lazy';
import { SearchPage } from './search/SearchPage';
import { ServiceMapPage } from './services/ServiceMapPage';
import { ServicePage } from './services/ServicePage';
import { ServicesPage } from './services/ServicesPage';
import { SessionPage } from './sessions/SessionPage';
import { SessionsPage } from './sessions/SessionsPage';
import { ComparePage } from './trace/Compare';
import { TracePage } from './trace/TracePage';
import './styles.css';

/** The Metrics explorer, a chunk of its own. */
const MetricsPage = lazy(() => import('./metrics/MetricsPage').then((m) => m.MetricsPage));

type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  try {
    const t = localStorage.getItem('tracehouse.theme');
    if (t === 'light' || t === 'dark') return t;
  } catch {
    /* ignore */
  }
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The trace-id box: a full trace id (32 hex digits, spaces and dashes ignored) opens its trace. */
function TraceLookup() {
  const [text, setText] = useState('');
  const [bad, setBad] = useState(false);
  return (
    <form
      class="trace-lookup"
      role="search"
      aria-label="Open a trace by id"
      onSubmit={(e) => {
        e.preventDefault();
        const id = text.trim().toLowerCase().replace(/[\s-]/g, '');
        if (!/^[0-9a-f]{32}$/.test(id)) {
          setBad(true);
          return;
        }
        setBad(false);
        setText('');
        navigate(`/traces/${id}`);
      }}
    >
      <label for="trace-id" class="visually-hidden">
        Trace ID
      </label>
      <input
        id="trace-id"
        class={`mono${bad ? ' invalid' : ''}`}
        placeholder="Trace ID…"
        value={text}
        aria-invalid={bad}
        aria-describedby={bad ? 'trace-id-err' : undefined}
        title="A trace id: 32 hexadecimal digits"
        onInput={(e) => {
          setText((e.target as HTMLInputElement).value);
          setBad(false);
        }}
      />
      {bad && (
        <span id="trace-id-err" class="lookup-err" role="alert">
          A trace id is 32 hex digits
        </span>
      )}
    </form>
  );
}

function ProjectSwitcher({ onChange }: { onChange: () => void }) {
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState(projectKey());
  const current = projectKey();
  return (
    <div class="project">
      <button type="button" class="btn ghost" aria-expanded={open} onClick={() => setOpen(!open)} title="Project key sent as x-tracehouse-key">
        Project: {current ? `key …${current.slice(-4)}` : 'default'}
      </button>
      {open && (
        <form
          class="popover"
          onSubmit={(e) => {
            e.preventDefault();
            setProjectKey(key.trim());
            setOpen(false);
            onChange();
          }}
        >
          <label for="project-key">Project key</label>
          <input id="project-key" type="password" autoComplete="off" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} placeholder="empty = open project" />
          <p class="hint">Sent as the <code>x-tracehouse-key</code> header with every API request.</p>
          <div class="row">
            <button type="submit" class="btn primary">Use key</button>
            <button type="button" class="btn" onClick={() => { setKey(''); setProjectKey(''); setOpen(false); onChange(); }}>Clear</button>
          </div>
        </form>
      )}
    </div>
  );
}

/** The top-level sections in the navigation bar. */
const SECTIONS = [
  { id: 'traces', label: 'Traces', href: '/' },
  { id: 'services', label: 'Services', href: '/services' },
  { id: 'metrics-explorer', label: 'Metrics', href: EXPLORER_PATH },
  { id: 'logs', label: 'Logs', href: '/logs' },
  { id: 'errors', label: 'Errors', href: '/errors' },
  { id: 'sessions', label: 'Sessions', href: '/sessions' },
  { id: 'alerts', label: 'Alerts', href: '/alerts' },
] as const;

/** The navigation section a path belongs to. */
function sectionOf(path: string): string {
  const first = path.split('/')[1] ?? '';
  if (first === 'service-map') return 'services';
  return first === '' || first === 'traces' ? 'traces' : first;
}

/** The page for a path: `/`, `/traces/<id>`, `/traces/compare`, `/services`, `/services/<name>`, `/service-map`, `/metrics-explorer`, `/logs`, `/errors[/<fingerprint>]`, `/sessions[/<id>]`, `/alerts`. */
function route(path: string, params: URLSearchParams, epoch: number) {
  const [, first = '', id, ...rest] = path.replace(/\/+$/, '').split('/');
  const one = id !== undefined && rest.length === 0 ? decodeURIComponent(id) : null;
  if (first === '' || (first === 'traces' && id === undefined)) return <SearchPage key={epoch} params={params} />;
  if (first === 'traces' && one === 'compare') return <ComparePage params={params} />;
  if (first === 'traces' && one) return <TracePage key={`${one}-${epoch}`} traceId={one} params={params} />;
  if (first === 'services' && id === undefined) return <ServicesPage key={epoch} params={params} />;
  if (first === 'services' && one) return <ServicePage key={`${one}-${epoch}`} service={one} params={params} />;
  if (first === 'service-map' && id === undefined) return <ServiceMapPage key={epoch} params={params} />;
  if (first === 'logs' && id === undefined) return <LogsPage key={epoch} params={params} />;
  if (`/${first}` === EXPLORER_PATH && id === undefined) return <MetricsPage key={epoch} params={params} />;
  if (first === 'errors' && id === undefined) return <ErrorsPage key={epoch} params={params} />;
  if (first === 'errors' && one) return <ErrorGroupPage key={`${one}-${epoch}`} fingerprint={one} params={params} />;
  if (first === 'alerts' && id === undefined) return <AlertsPage key={epoch} params={params} />;
  if (first === 'sessions' && id === undefined) return <SessionsPage key={epoch} params={params} />;
  if (first === 'sessions' && one) return <SessionPage key={`${one}-${epoch}`} sessionId={one} params={params} />;
  return (
    <main class="page empty-state">
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <a href="/" onClick={(e) => linkClick(e as MouseEvent, '/')}>Go to traces search</a>.
      </p>
    </main>
  );
}

function App() {
  const loc = useLocation();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [epoch, setEpoch] = useState(0);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem('tracehouse.theme', theme);
    } catch {
      /* ignore */
    }
  }, [theme]);
  const section = sectionOf(loc.path);
  const page = route(loc.path, loc.params, epoch);
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/" onClick={(e) => linkClick(e as MouseEvent, '/')}>
          <img src="/favicon.svg" alt="" width="18" height="18" /> tracehouse
        </a>
        <nav aria-label="Main">
          {SECTIONS.map((s) => (
            <a key={s.id} href={s.href} class={section === s.id ? 'active' : undefined} aria-current={section === s.id ? 'page' : undefined} onClick={(e) => linkClick(e as MouseEvent, s.href)}>
              {s.label}
            </a>
          ))}
        </nav>
        <div class="spacer" />
        <TraceLookup />
        <ProjectSwitcher onChange={() => setEpoch((x) => x + 1)} />
        <button type="button" class="btn ghost" aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`} onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}>
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
      </header>
      {page}
    </div>
  );
}

render(<App />, document.getElementById('app')!);
