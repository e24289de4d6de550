import { useEffect, useState } from 'preact/hooks';
import { ApiError, alertHistory, deleteAlert, listAlerts, saveAlert } from '../lib/api';
import { fmtTime } from '../lib/format';
import { Link } from '../lib/links';
import { setParams } from '../lib/router';
import type { AlertEvent, AlertView } from '../lib/types';
import { type AlertForm, bodyOf, dataHref, formOf, newForm, ruleStatus } from './alerts';

const FUNCTIONS = ['count', 'rate', 'error_rate', 'p50', 'p75', 'p90', 'p95', 'p99', 'new_error_group'] as const;
const COMPARISONS = ['>', '>=', '<', '<='] as const;

/** The Alerts page: the project's rules with their state, a form to create or edit one (prefilled by
 * "Alert on this query" with `?new=1&query=`), and a rule's history with links to the data behind it. */
export function AlertsPage({ params }: { params: URLSearchParams }) {
  const [alerts, setAlerts] = useState<AlertView[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [editing, setEditing] = useState<{ id?: string; form: AlertForm } | null>(params.get('new') ? { form: newForm(params) } : null);
  const shown = params.get('rule');

  useEffect(() => {
    const ctl = new AbortController();
    listAlerts(ctl.signal)
      .then((a) => {
        setAlerts(a);
        setError(null);
      })
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e as ApiError);
      });
    return () => ctl.abort();
  }, [attempt]);
  const reload = () => setAttempt((n) => n + 1);

  return (
    <main class="page alerts-page">
      <div class="search-controls">
        <h1 class="page-title">Alerts</h1>
        <div class="spacer" />
        <button type="button" class="btn primary" onClick={() => setEditing({ form: newForm(new URLSearchParams()) })}>
          New rule
        </button>
      </div>
      {error && (
        <div class="banner err" role="alert">
          <strong>{error.status === 401 ? 'This project needs a key.' : 'Could not load the alert rules.'}</strong> {error.message}{' '}
          <button type="button" class="btn retry" onClick={reload}>
            Try again
          </button>
        </div>
      )}
      {editing && (
        <RuleForm
          key={editing.id ?? 'new'}
          id={editing.id}
          initial={editing.form}
          onDone={() => {
            setEditing(null);
            setParams({ new: null, query: null, source: null }, true);
            reload();
          }}
        />
      )}
      {alerts !== null && alerts.length === 0 && !editing && <p class="empty-state">No alert rules yet: create one here, or with “Alert on this query” on the search page.</p>}
      {alerts !== null && alerts.length > 0 && (
        <div class="table-wrap">
          <table class="results alerts" aria-label="Alert rules">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">State</th>
                <th scope="col">Condition</th>
                <th scope="col">Query</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr key={a.rule.id} data-rule={a.rule.id}>
                  <td>{a.rule.name}</td>
                  <td>
                    <span class={`alert-state ${ruleStatus(a)}`} title={a.state?.error ?? undefined}>
                      {ruleStatus(a)}
                    </span>
                  </td>
                  <td class="mono">
                    {a.rule.function} {a.rule.comparison} {a.rule.threshold} / {a.rule.window_s}s{a.rule.by ? ` by ${a.rule.by}` : ''}
                  </td>
                  <td class="mono">
                    {a.rule.source}: {a.rule.query || '(everything)'}
                  </td>
                  <td class="actions">
                    <button type="button" class="link-btn" onClick={() => setParams({ rule: a.rule.id }, false)}>
                      History
                    </button>
                    <button type="button" class="link-btn" onClick={() => setEditing({ id: a.rule.id, form: formOf(a.rule) })}>
                      Edit
                    </button>
                    <button type="button" class="link-btn" aria-label={`Delete rule ${a.rule.name}`} onClick={() => deleteAlert(a.rule.id).then(reload).catch((e) => setError(e as ApiError))}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && alerts?.some((a) => a.rule.id === shown) && <History id={shown} name={alerts.find((a) => a.rule.id === shown)!.rule.name} />}
    </main>
  );
}

/** The create/edit form; a refusal shows the server's message. */
function RuleForm({ id, initial, onDone }: { id?: string; initial: AlertForm; onDone: () => void }) {
  const [f, setF] = useState(initial);
  const [note, setNote] = useState('');
  const field = (k: keyof AlertForm) => ({
    id: `alert-${k}`,
    value: f[k],
    onInput: (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value }),
  });
  return (
    <form
      class="alert-form"
      aria-label={id ? 'Edit alert rule' : 'New alert rule'}
      onSubmit={(e) => {
        e.preventDefault();
        saveAlert(bodyOf(f), id)
          .then(onDone)
          .catch((err) => setNote((err as ApiError).message));
      }}
    >
      <label for="alert-name">Name</label>
      <input {...field('name')} required />
      <label for="alert-source">Source</label>
      <select {...field('source')}>
        <option value="spans">spans</option>
        <option value="logs">logs</option>
        <option value="errors">errors</option>
      </select>
      <label for="alert-query">Query</label>
      <input {...field('query')} class="mono" placeholder="empty: everything" />
      <label for="alert-function">Function</label>
      <select {...field('function')}>
        {FUNCTIONS.map((x) => (
          <option key={x} value={x}>
            {x}
          </option>
        ))}
      </select>
      <label for="alert-comparison">Comparison</label>
      <select {...field('comparison')}>
        {COMPARISONS.map((x) => (
          <option key={x} value={x}>
            {x}
          </option>
        ))}
      </select>
      <label for="alert-threshold">Threshold</label>
      <input {...field('threshold')} inputMode="decimal" />
      <label for="alert-window_s">Window (s)</label>
      <input {...field('window_s')} inputMode="numeric" />
      <label for="alert-interval_s">Every (s)</label>
      <input {...field('interval_s')} inputMode="numeric" />
      <label for="alert-for_s">For (s)</label>
      <input {...field('for_s')} inputMode="numeric" />
      <label for="alert-cooldown_s">Cooldown (s)</label>
      <input {...field('cooldown_s')} inputMode="numeric" />
      <label for="alert-by">Split by</label>
      <input {...field('by')} placeholder="e.g. service (spans)" />
      <label for="alert-channels">Channels</label>
      <textarea {...field('channels')} rows={2} placeholder={'webhook https://…\nslack https://hooks.slack.com/…'} />
      <div class="row">
        <button type="submit" class="btn primary">
          {id ? 'Save rule' : 'Create rule'}
        </button>
        <button type="button" class="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
      {note && (
        <p class="banner err" role="alert">
          {note}
        </p>
      )}
    </form>
  );
}

/** A rule's history, newest first, each state change linking to the data behind it. */
function History({ id, name }: { id: string; name: string }) {
  const [events, setEvents] = useState<AlertEvent[] | null>(null);
  const [note, setNote] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    alertHistory(id, ctl.signal)
      .then(setEvents)
      .catch((e) => (e as Error).name !== 'AbortError' && setNote((e as ApiError).message));
    return () => ctl.abort();
  }, [id]);
  return (
    <section class="alert-history" aria-label={`History of ${name}`}>
      <h2>History of {name}</h2>
      {note && <p class="banner err">{note}</p>}
      {events?.length === 0 && <p class="hint">Nothing happened yet.</p>}
      {events && events.length > 0 && (
        <div class="table-wrap">
          <table class="results" aria-label="Alert history">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">What</th>
                <th scope="col">Group</th>
                <th scope="col">Value</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={i}>
                  <td class="mono">{fmtTime(e.at_ns)}</td>
                  <td>{describe(e)}</td>
                  <td class="mono">{e.group || '—'}</td>
                  <td class="mono">{e.value ?? '—'}</td>
                  <td>
                    {e.kind === 'state' && e.link ? <Link href={dataHref(e.link)}>Open the {e.link.source}</Link> : e.message ?? e.channel ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function describe(e: AlertEvent): string {
  switch (e.kind) {
    case 'state':
      return `${e.from} → ${e.to}`;
    case 'delivery':
      return `${e.to} ${e.delivered ? 'delivered' : 'not delivered'} (${e.attempts} attempt${e.attempts === 1 ? '' : 's'})`;
    case 'suppressed':
      return `${e.to}, not notified (cooldown)`;
    default:
      return 'evaluation failed';
  }
}
