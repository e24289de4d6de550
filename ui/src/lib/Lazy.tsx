import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * A component loaded as a chunk of its own on first render (`load` is a dynamic import), so
 * that a page few visits does not weigh on the main chunk; nothing is drawn until it arrives.
 */
export function lazy<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | null>(() => loaded);
    useEffect(() => {
      if (!C) load().then((c) => setC(() => (loaded = c)));
    }, []);
    return C ? <C {...props} /> : null;
  };
}
