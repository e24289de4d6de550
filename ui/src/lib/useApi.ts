import { useEffect, useState } from 'preact/hooks';
import type { ApiError } from './api';

/** The answer of an API call that reruns when `deps` change: data, or the failure. */
export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
}

/** Calls `load` whenever `deps` change (aborting the previous call) and keeps its answer. */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null });
  useEffect(() => {
    const ctl = new AbortController();
    load(ctl.signal)
      .then((data) => setState({ data, error: null }))
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setState({ data: null, error: e as ApiError });
      });
    return () => ctl.abort();
  }, deps);
  return state;
}
