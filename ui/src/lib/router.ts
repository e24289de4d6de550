import { useEffect, useState } from 'preact/hooks';

/** The current location, re-read on navigation. */
export interface Loc {
  path: string;
  params: URLSearchParams;
}

function read(): Loc {
  return { path: window.location.pathname, params: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((l) => l());
}

/** Replaces some query parameters of the current URL (empty values are removed). */
export function setParams(update: Record<string, string | null | undefined>, replace = true): void {
  const p = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(update)) {
    if (v === null || v === undefined || v === '') p.delete(k);
    else p.set(k, v);
  }
  const s = p.toString();
  navigate(window.location.pathname + (s ? `?${s}` : ''), replace);
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    listeners.add(on);
    window.addEventListener('popstate', on);
    return () => {
      listeners.delete(on);
      window.removeEventListener('popstate', on);
    };
  }, []);
  return loc;
}

/** Intercepts a plain left click on an in-app link so it navigates without a page load. */
export function linkClick(e: MouseEvent, href: string): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(href);
}
