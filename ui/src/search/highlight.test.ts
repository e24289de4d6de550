import { describe, expect, it } from 'vitest';
import { byteToIndex, contextAt, tokenize } from './highlight';
import { fmtDuration, queryValue } from '../lib/format';

const classes = (q: string) => tokenize(q).filter((t) => t.cls !== 'ws').map((t) => `${t.cls}:${q.slice(t.start, t.end)}`);

describe('tokenize', () => {
  it('classifies keys, operators, values, keywords and strings', () => {
    expect(classes('service:cart AND duration>250ms "GET /x" NOT level EXISTS')).toEqual([
      'key:service', 'op::', 'value:cart', 'keyword:AND', 'key:duration', 'op:>', 'value:250ms', 'string:"GET /x"', 'keyword:NOT', 'text:level', 'keyword:EXISTS',
    ]);
  });
  it('covers the whole input without gaps', () => {
    const q = 'a:(b OR c) {x=/re+/} >> {y!=1} | count() > 3';
    const toks = tokenize(q);
    expect(toks.map((t) => q.slice(t.start, t.end)).join('')).toBe(q);
  });
});

describe('contextAt', () => {
  it('knows whether a key or a value is being typed', () => {
    expect(contextAt('serv', 4)).toMatchObject({ kind: 'key', prefix: 'serv' });
    expect(contextAt('a:1 service:ca', 14)).toMatchObject({ kind: 'value', key: 'service', prefix: 'ca', start: 12 });
    expect(contextAt('x AND ', 6)).toMatchObject({ kind: 'key', prefix: '' });
  });
});

describe('byteToIndex', () => {
  it('maps UTF-8 byte offsets to string indices', () => {
    expect(byteToIndex('é:x', 2)).toBe(1);
    expect(byteToIndex('abc', 10)).toBe(3);
  });
});

describe('format', () => {
  it('formats durations and query values', () => {
    expect(fmtDuration(1_500_000)).toBe('1.5ms');
    expect(fmtDuration(2_000_000_000)).toBe('2s');
    expect(queryValue('GET')).toBe('GET');
    expect(queryValue('some value')).toBe('"some value"');
    expect(queryValue(500)).toBe('500');
  });
});
