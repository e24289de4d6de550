import { describe, expect, it } from 'vitest';
import { alertOnHref, bodyOf, dataHref, formOf, newForm, ruleStatus } from './alerts';
import type { AlertRule, AlertView } from '../lib/types';

const rule: AlertRule = {
  id: 'r1',
  name: 'checkout errors',
  source: 'spans',
  query: 'service:checkout',
  function: 'error_rate',
  comparison: '>',
  threshold: 0.05,
  window_s: 300,
  interval_s: 60,
  for_s: 0,
  by: 'name',
  cooldown_s: 600,
  channels: [
    { kind: 'webhook', url: 'https://ops.example.com/hook' },
    { kind: 'slack', url: 'https://hooks.slack.com/services/T/B/X' },
  ],
  saved_ns: 1,
};

describe('alert forms', () => {
  it('round-trips a rule through its form', () => {
    const { id: _id, saved_ns: _saved, ...body } = rule;
    expect(bodyOf(formOf(rule))).toEqual(body);
  });
  it('prefills a new rule from the search it alerts on', () => {
    const href = new URL(alertOnHref('service:cart status:error'), 'http://x');
    expect(href.pathname).toBe('/alerts');
    const f = newForm(href.searchParams);
    expect([f.query, f.source]).toEqual(['service:cart status:error', 'spans']);
    expect(newForm(new URLSearchParams('source=logs')).source).toBe('logs');
  });
  it('reads a bare URL as a webhook channel and skips blank lines', () => {
    const f = { ...formOf(rule), channels: 'http://a/x\n\n slack http://b/y ' };
    expect(bodyOf(f).channels).toEqual([
      { kind: 'webhook', url: 'http://a/x' },
      { kind: 'slack', url: 'http://b/y' },
    ]);
  });
});

describe('alert states and links', () => {
  const view = (statuses: ('ok' | 'pending' | 'firing' | 'resolved')[], error: string | null = null): AlertView => ({
    rule,
    state: { rule_id: 'r1', evaluated_ns: 1, error, groups: statuses.map((status, i) => ({ group: String(i), status, since_ns: 1, value: 1, notified_ns: null, notified: false })) },
  });
  it('shows the most urgent group', () => {
    expect(ruleStatus({ rule, state: null })).toBe('ok');
    expect(ruleStatus(view(['resolved', 'firing', 'pending']))).toBe('firing');
    expect(ruleStatus(view(['resolved', 'pending']))).toBe('pending');
    expect(ruleStatus(view(['firing'], 'timed out'))).toBe('error');
  });
  it('opens the data behind an entry on its page over its window', () => {
    const link = { source: 'spans' as const, query: 'service:checkout', start_ns: 1_764_064_500_000_000_000, end_ns: 1_764_064_800_000_000_000 };
    const spans = new URL(dataHref(link), 'http://x');
    expect(spans.pathname).toBe('/');
    expect(spans.searchParams.get('query')).toBe('service:checkout');
    expect(spans.searchParams.get('start')).toBe('2025-11-25T09:55:00.000Z');
    expect(new URL(dataHref({ ...link, source: 'logs' }), 'http://x').pathname).toBe('/logs');
    const errors = new URL(dataHref({ ...link, source: 'errors', query: 'Timeout' }), 'http://x');
    expect([errors.pathname, errors.searchParams.get('text')]).toEqual(['/errors', 'Timeout']);
  });
});
