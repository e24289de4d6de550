/** The per-tab session id: kept in `sessionStorage`, so reloads and navigations of one tab share it
 * and a new tab starts a new session. */

/** The `sessionStorage` key holding the session id. */
export const SESSION_STORAGE_KEY = 'tracehouse.session_id';

/** A random id: 32 lowercase hex characters. */
export function randomId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The tab's session id, created on first use. Storage that throws (privacy modes, sandboxed
 * frames) gives a session that lasts as long as the page. */
export function tabSessionId(storage: Storage | undefined = globalThis.sessionStorage): string {
  try {
    const existing = storage?.getItem(SESSION_STORAGE_KEY);
    if (existing) return existing;
    const id = randomId();
    storage?.setItem(SESSION_STORAGE_KEY, id);
    return id;
  } catch {
    return randomId();
  }
}
