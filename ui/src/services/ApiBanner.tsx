import type { ApiError } from '../lib/api';

/** A failed API call, said in the page's words (`what`: "the services"). */
export function ApiBanner({ error, what }: { error: ApiError | null; what: string }) {
  if (!error) return null;
  return (
    <div class="banner err" role="alert">
      <strong>{error.status === 401 ? 'This project needs a key.' : `Could not load ${what}.`}</strong> {error.message}
    </div>
  );
}
