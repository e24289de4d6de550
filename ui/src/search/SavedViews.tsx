import { useEffect, useState } from 'preact/hooks';
import { ApiError, deleteView, listViews, saveView } from '../lib/api';
import type { SavedView } from '../lib/types';

/** The search as a view saves it. */
export type ViewState = Omit<SavedView, 'name' | 'saved_ns'>;

/** The share link of a saved view: the search page opening it. */
export const viewHref = (name: string) => `/?saved=${encodeURIComponent(name)}`;

/** Saved views of the project (kept by the server): save the current search under a name, open, share or delete one. */
export function SavedViews({ current, onApply }: { current: ViewState; onApply: (v: SavedView) => void }) {
  const [views, setViews] = useState<SavedView[]>([]);
  const [name, setName] = useState('');
  const [note, setNote] = useState('');
  const fail = (e: unknown) => setNote((e as ApiError).message);
  const refresh = () => listViews().then(setViews).catch(fail);
  useEffect(() => {
    refresh();
  }, []);

  return (
    <details class="columns saved-views">
      <summary class="btn">Views{views.length ? ` (${views.length})` : ''}</summary>
      <div class="popover">
        <form
          class="save-view"
          onSubmit={(e) => {
            e.preventDefault();
            const n = name.trim();
            if (!n) return;
            saveView({ name: n, ...current })
              .then(() => {
                setNote(`Saved “${n}”`);
                setName('');
                return refresh();
              })
              .catch(fail);
          }}
        >
          <input id="view-name" aria-label="View name" placeholder="name this search" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <button type="submit" class="btn primary" disabled={!name.trim()}>
            Save
          </button>
        </form>
        {note && (
          <p class="hint" role="status">
            {note}
          </p>
        )}
        {views.length === 0 ? (
          <p class="hint">No saved views yet.</p>
        ) : (
          <ul class="view-list" aria-label="Saved views">
            {views.map((v) => (
              <li key={v.name} data-view={v.name}>
                <button type="button" class="link-btn" title={v.query || 'everything'} onClick={() => onApply(v)}>
                  {v.name}
                </button>
                <a class="icon-btn" href={viewHref(v.name)} title="Link to share (opens this view)">
                  link
                </a>
                <button type="button" class="icon-btn" aria-label={`Delete view ${v.name}`} onClick={() => deleteView(v.name).then(refresh).catch(fail)}>
                  delete
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </details>
  );
}
