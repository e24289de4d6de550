import { describe, expect, it } from 'vitest';
import { fmtNumber, resultUnit, unitFormat, unitFormats } from './units';

describe('metric units', () => {
  it('reads numbers in a few digits', () => {
    expect(fmtNumber(0)).toBe('0');
    expect(fmtNumber(0.0666667)).toBe('0.0667');
    expect(fmtNumber(12.345)).toBe('12.35');
    expect(fmtNumber(1234.5)).toBe('1234.5');
    expect(fmtNumber(25_000)).toBe('25K');
  });

  it('formats by unit', () => {
    expect(unitFormat('ms')(250)).toBe('250ms');
    expect(unitFormat('s')(1.5)).toBe('1.5s');
    expect(unitFormat('By')(2_500_000)).toBe('2.5 MB');
    expect(unitFormat('{request}', true)(0.5)).toBe('0.5 request/s');
    expect(unitFormat('1')(3)).toBe('3');
    expect(unitFormat('ms', true)(2)).toBe('2 ms/s');
  });

  it('says a count\'s unit once beside the axis, and durations and sizes on every tick', () => {
    const rate = unitFormats('{request}', true);
    expect([rate.axis.format(1.5), rate.axis.label]).toEqual(['1.5', 'request/s']);
    const ms = unitFormats('ms');
    expect([ms.axis.format(250), ms.axis.label]).toEqual(['250ms', '']);
  });

  it('keeps the unit for values and drops it for counts of observations', () => {
    expect(resultUnit('ms', 'p95', 'histogram')).toEqual({ unit: 'ms', perSecond: false });
    expect(resultUnit('ms', 'rate', 'histogram')).toEqual({ unit: '', perSecond: true });
    expect(resultUnit('{request}', 'rate', 'sum')).toEqual({ unit: '{request}', perSecond: true });
    expect(resultUnit('By', 'count', 'gauge')).toEqual({ unit: '', perSecond: false });
  });
});
