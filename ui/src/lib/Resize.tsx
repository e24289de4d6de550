import { useState } from 'preact/hooks';

function read(key: string): number | null {
  try {
    const v = Number(localStorage.getItem(key));
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

function write(key: string, w: number): void {
  try {
    localStorage.setItem(key, String(w));
  } catch {
    /* private mode: not remembered */
  }
}

/** A width set by dragging an edge, and the handlers of that edge. */
export interface Resizable {
  width: number;
  onPointerDown: (e: PointerEvent) => void;
  onKeyDown: (e: KeyboardEvent) => void;
}

/**
 * A width the user sets by dragging an edge (or with ←/→ on it), remembered in localStorage
 * under `key`. `grow` is +1 when dragging right widens (an edge on the right), -1 when
 * dragging left does (an edge on the left); `clamp` keeps the width in bounds.
 */
export function useResizable(key: string, initial: () => number, clamp: (w: number) => number, grow: 1 | -1, step = 24): Resizable {
  const [stored, setStored] = useState<number | null>(() => read(key));
  const width = Math.round(clamp(stored ?? initial()));
  const onPointerDown = (e: PointerEvent) => {
    e.preventDefault();
    const x0 = e.clientX;
    let last = width;
    const move = (ev: PointerEvent) => {
      last = Math.round(clamp(width + grow * (ev.clientX - x0)));
      setStored(last);
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      write(key, last);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const dir = e.key === 'ArrowLeft' ? -1 : e.key === 'ArrowRight' ? 1 : 0;
    if (!dir) return;
    e.preventDefault();
    e.stopPropagation();
    const next = Math.round(clamp(width + dir * grow * step));
    setStored(next);
    write(key, next);
  };
  return { width, onPointerDown, onKeyDown };
}

/** The draggable edge of a resizable area, a focusable separator. */
export function ResizeHandle({ class: cls, label, resizable }: { class: string; label: string; resizable: Resizable }) {
  return (
    <span
      class={cls}
      role="separator"
      aria-orientation="vertical"
      aria-label={label}
      aria-valuenow={resizable.width}
      tabIndex={0}
      title="Drag to resize (or ←/→)"
      onPointerDown={resizable.onPointerDown}
      onKeyDown={resizable.onKeyDown}
    />
  );
}
