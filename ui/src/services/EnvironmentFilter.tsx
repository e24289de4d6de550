import { values, type Suggestion } from '../lib/api';
import { setParams } from '../lib/router';
import { useApi } from '../lib/useApi';

/** The deployment environments seen in the range, for the filter. */
export function EnvironmentFilter({ env, start, end }: { env: string; start: string; end: string }) {
  const { data } = useApi<Suggestion[]>((signal) => values('environment', '', { start, end }, signal), [start, end]);
  const options = data ?? [];
  return (
    <label class="env-filter">
      Environment{' '}
      <select value={env} onChange={(e) => setParams({ environment: (e.target as HTMLSelectElement).value || null }, false)}>
        <option value="">All</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.value || '(none)'}
          </option>
        ))}
        {env && !options.some((o) => o.value === env) && <option value={env}>{env}</option>}
      </select>
    </label>
  );
}
