import { useMemo, useState } from 'preact/hooks';
import type { MetricName } from '../lib/types';

/** The metrics whose name or description holds every word typed, names starting with it first. */
export function matchMetrics(metrics: MetricName[], text: string): MetricName[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  const hits = metrics.filter((m) => words.every((w) => `${m.name} ${m.description}`.toLowerCase().includes(w)));
  const first = words[0] ?? '';
  return hits.sort((a, b) => Number(!a.name.startsWith(first)) - Number(!b.name.startsWith(first)) || a.name.localeCompare(b.name));
}

/** What a metric is, in a few words: its type and unit. */
export function metricKind(m: Pick<MetricName, 'type' | 'unit'>): string {
  return [m.type.replace('_', ' '), m.unit].filter(Boolean).join(' · ');
}

interface Props {
  metrics: MetricName[];
  value: string;
  onPick: (name: string) => void;
}

/** A combobox of the project's metrics: typing narrows them (by name and description), each listed with its type, unit and description. */
export function MetricPicker({ metrics, value, onPick }: Props) {
  const [text, setText] = useState(value);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const shown = useMemo(() => matchMetrics(metrics, text === value ? '' : text).slice(0, 50), [metrics, text, value]);
  const pick = (m: MetricName) => {
    setText(m.name);
    setOpen(false);
    onPick(m.name);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, shown.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === 'Enter' && open && shown[active]) {
      e.preventDefault();
      pick(shown[active]);
    } else if (e.key === 'Escape') {
      setOpen(false);
      setText(value);
    }
  };
  return (
    <div class="metric-picker">
      <label for="metric-name">Metric</label>
      <input
        id="metric-name"
        role="combobox"
        aria-autocomplete="list"
        aria-controls="metric-options"
        aria-expanded={open && shown.length > 0}
        aria-activedescendant={open && shown[active] ? `metric-option-${active}` : undefined}
        autoComplete="off"
        spellcheck={false}
        placeholder={metrics.length ? `Pick one of ${metrics.length} metrics…` : 'No metrics in the range'}
        value={text}
        onInput={(e) => {
          setText((e.target as HTMLInputElement).value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={(e) => {
          (e.target as HTMLInputElement).select();
          setOpen(true);
        }}
        onBlur={() =>
          setTimeout(() => {
            setOpen(false);
            setText(value);
          }, 150)
        }
        onKeyDown={onKeyDown}
      />
      {open && shown.length > 0 && (
        <ul id="metric-options" class="suggestions metric-options" role="listbox" aria-label="Metrics">
          {shown.map((m, i) => (
            <li
              key={m.name}
              id={`metric-option-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(m);
              }}
            >
              <span class="sugg-value mono">{m.name}</span>
              <span class="badge">{metricKind(m)}</span>
              {m.description && <span class="metric-desc">{m.description}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
