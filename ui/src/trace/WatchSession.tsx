import { useEffect, useState } from 'preact/hooks';
import { Link, sessionHref } from '../lib/links';
import { hasReplay } from '../sessions/replay';

/** "Watch the session at this moment": shown when the trace's session has a recording, it opens
 * the session's page with the player at the trace's start (`at`, ns). */
export function WatchSession({ sessionId, startNs, range }: { sessionId: string; startNs: number; range: Record<string, string> }) {
  const [recorded, setRecorded] = useState(false);
  useEffect(() => {
    const ctl = new AbortController();
    setRecorded(false);
    hasReplay(sessionId, ctl.signal)
      .then(setRecorded)
      .catch(() => setRecorded(false));
    return () => ctl.abort();
  }, [sessionId]);
  if (!recorded) return null;
  return (
    <Link class="watch-session" href={sessionHref(sessionId, { ...range, at: String(startNs) })} data-session-id={sessionId}>
      ▶ Watch the session at this moment
    </Link>
  );
}
