import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { projectKey, setProjectKey } from './lib/api';
import { linkClick, useLocation } from './lib/router';
import { SearchPage } from './search/SearchPage';
import { TracePage } from './trace/TracePage';
import './styles.css';

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
  const traceMatch = /^\/traces\/([^/]+)\/?$/.exec(loc.path);
  const page = traceMatch ? (
    <TracePage key={`${traceMatch[1]}-${epoch}`} traceId={decodeURIComponent(traceMatch[1])} params={loc.params} />
  ) : loc.path === '/' || loc.path === '/traces' || loc.path === '/traces/' ? (
    <SearchPage key={epoch} params={loc.params} />
  ) : (
    <main class="page empty-state">
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{loc.path}</code>. <a href="/" onClick={(e) => linkClick(e as MouseEvent, '/')}>Go to traces search</a>.
      </p>
    </main>
  );
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/" onClick={(e) => linkClick(e as MouseEvent, '/')}>
          <img src="/favicon.svg" alt="" width="18" height="18" /> tracehouse
        </a>
        <nav aria-label="Main">
          <a href="/" class="active" aria-current="page" onClick={(e) => linkClick(e as MouseEvent, '/')}>
            Traces
          </a>
        </nav>
        <div class="spacer" />
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
