import { describe, expect, it } from 'vitest';
import { defaultFn, effectiveFn, explorerHref, readState, serviceFilter } from './state';
import { filterKey, keySuggestions, labelOf } from './labels';

const counter = { type: 'sum' as const, functions: ['avg', 'sum', 'min', 'max', 'count', 'rate', 'increase'] };
const histogram = { type: 'histogram' as const, functions: ['avg', 'sum', 'count', 'rate', 'increase', 'p50', 'p75', 'p90', 'p95', 'p99'] };
const gauge = { type: 'gauge' as const, functions: ['avg', 'sum', 'min', 'max', 'count'] };

describe('explorer URL state', () => {
  it('reads every choice from the URL', () => {
    const s = readState(new URLSearchParams('metric=http.requests&filter=route%3A%2Fa&fn=increase&by=route,%20service.name,route&step=1m'));
    expect(s).toEqual({ metric: 'http.requests', filter: 'route:/a', fn: 'increase', by: ['route', 'service.name'], step: '1m' });
    expect(readState(new URLSearchParams(''))).toEqual({ metric: '', filter: '', fn: '', by: [], step: '' });
  });

  it('writes a state and a range into a link, empty choices left out', () => {
    const href = explorerHref({ metric: 'latency', filter: serviceFilter('shop api'), fn: '', by: ['route'] }, { range: '6h' });
    expect(href).toBe('/metrics-explorer?metric=latency&filter=service%3A%22shop+api%22&by=route&range=6h');
    expect(readState(new URL(href, 'http://x').searchParams).filter).toBe('service:"shop api"');
  });

  it('draws what the metric takes: the asked function if it applies, else its default', () => {
    expect(defaultFn(counter)).toBe('rate');
    expect(defaultFn(histogram)).toBe('p95');
    expect(defaultFn(gauge)).toBe('avg');
    expect(effectiveFn('p99', histogram)).toBe('p99');
    expect(effectiveFn('rate', gauge)).toBe('avg');
    expect(effectiveFn('', counter)).toBe('rate');
  });
});

describe('metric label suggestions', () => {
  const labels = [
    { key: 'route', scope: 'point', series: 2 },
    { key: 'service.name', scope: 'resource', series: 3 },
  ];
  it('names resource labels with their scope and asks values by the label', () => {
    expect(labels.map(filterKey)).toEqual(['route', 'resource.service.name']);
    expect(keySuggestions(labels, 'res')).toEqual([{ value: 'resource.service.name', detail: 'resource · 3 series' }]);
    expect(labelOf('resource.host.name')).toBe('host.name');
    expect(labelOf('service')).toBe('service.name');
    expect(labelOf('route')).toBe('route');
  });
});
