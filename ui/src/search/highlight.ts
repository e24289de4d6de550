/** Token classes used for syntax highlighting in the query bar. */
export type TokClass = 'ws' | 'key' | 'op' | 'value' | 'string' | 'regex' | 'keyword' | 'paren' | 'text';

export interface Tok {
  cls: TokClass;
  start: number;
  end: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'exists']);
const OPS = ['>>', '<<', '!=', '>=', '<=', '&&', '||', ':', '=', '>', '<', '~', '|'];

/** A forgiving tokenizer for display only: it never fails, the server is the judge of validity. */
export function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let expectValue = false;
  const push = (cls: TokClass, start: number, end: number) => out.push({ cls, start, end });
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      let j = i;
      while (j < src.length && /\s/.test(src[j])) j++;
      push('ws', i, j);
      i = j;
      expectValue = false;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      j = Math.min(j + 1, src.length);
      push('string', i, j);
      i = j;
      expectValue = false;
      continue;
    }
    if (c === '/' && (expectValue || out.length === 0 || out[out.length - 1].cls === 'ws')) {
      let j = i + 1;
      while (j < src.length && src[j] !== '/') j += src[j] === '\\' ? 2 : 1;
      j = Math.min(j + 1, src.length);
      push('regex', i, j);
      i = j;
      expectValue = false;
      continue;
    }
    if ('(){},'.includes(c)) {
      push('paren', i, i + 1);
      i++;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op) {
      push('op', i, i + op.length);
      i += op.length;
      expectValue = op !== '&&' && op !== '||' && op !== '|' && op !== '>>' && op !== '<<' && op !== '~';
      continue;
    }
    let j = i;
    if (expectValue) {
      while (j < src.length && !/[\s(){}]/.test(src[j])) j++;
      push('value', i, j);
      expectValue = false;
      i = j;
      continue;
    }
    while (j < src.length && !/[\s(){},:=!<>~|"'`]/.test(src[j])) j++;
    if (j === i) j = i + 1;
    const word = src.slice(i, j);
    const next = src[j];
    if (KEYWORDS.has(word.toLowerCase())) push('keyword', i, j);
    else if (next !== undefined && /[:=!<>~]/.test(next) && !src.startsWith('>>', j) && !src.startsWith('<<', j)) push('key', i, j);
    else push('text', i, j);
    i = j;
  }
  return out;
}

/** What the cursor is in, for autocomplete. */
export type Context =
  | { kind: 'key'; prefix: string; start: number; end: number }
  | { kind: 'value'; key: string; prefix: string; start: number; end: number }
  | { kind: 'none' };

export function contextAt(src: string, cursor: number): Context {
  // The term around the cursor: from the previous whitespace/paren to the next.
  let s = cursor;
  while (s > 0 && !/[\s(){}]/.test(src[s - 1])) s--;
  let e = cursor;
  while (e < src.length && !/[\s(){}]/.test(src[e])) e++;
  const term = src.slice(s, e);
  if (/^["'`/]/.test(term)) return { kind: 'none' };
  const m = /^([^:=!<>~]+)(!=|>=|<=|[:=<>])(.*)$/.exec(term);
  if (m) {
    const valueStart = s + m[1].length + m[2].length;
    if (cursor < valueStart) return { kind: 'key', prefix: m[1], start: s, end: s + m[1].length };
    return { kind: 'value', key: m[1], prefix: m[3].replace(/^["'`]/, ''), start: valueStart, end: e };
  }
  if (KEYWORDS.has(term.toLowerCase())) return { kind: 'none' };
  return { kind: 'key', prefix: term.slice(0, cursor - s), start: s, end: e };
}

/** Converts the server's byte offsets (UTF-8) into string indices. */
export function byteToIndex(src: string, byte: number): number {
  const enc = new TextEncoder();
  let bytes = 0;
  let i = 0;
  for (const ch of src) {
    if (bytes >= byte) return i;
    bytes += enc.encode(ch).length;
    i += ch.length;
  }
  return src.length;
}
