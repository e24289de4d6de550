import { describe, expect, it } from 'vitest';
import { fmtDuration, fmtOffset, fmtTick, registerServices, SERVICE_HUES, serviceColor } from './format';

describe('fmtDuration and fmtOffset', () => {
  it('reads well on both sides of a span and over days', () => {
    expect(fmtDuration(-4_196_718 * 60e9 - 11e9)).toBe('−2914d 9h');
    expect(fmtDuration(-1_500_000)).toBe('−1.5ms');
    expect(fmtDuration(3 * 3600e9 + 5 * 60e9)).toBe('3h 5m');
    expect(fmtOffset(2_000_000)).toBe('+2ms');
    expect(fmtOffset(-3_200_000_000)).toBe('−3.2s');
    expect(fmtOffset(0)).toBe('+0ns');
  });
});

describe('service colours', () => {
  it('never use the error red', () => {
    for (const h of SERVICE_HUES) expect(h > 25 && h < 335).toBe(true);
  });
  it('keep the services of a trace apart', () => {
    const shop = ['cart', 'checkout', 'email', 'frontend', 'inventory', 'payment', 'postgres', 'redis', 'shipping'];
    registerServices(shop);
    const colours = shop.map(serviceColor);
    expect(new Set(colours).size).toBe(shop.length);
    expect(serviceColor('cart')).toBe(colours[0]);
  });
});

describe('fmtTick', () => {
  it('drops a zero trailing unit', () => {
    expect(fmtTick(120e9)).toBe('2m');
    expect(fmtTick(90 * 60e9)).toBe('1h 30m');
    expect(fmtTick(2 * 3600e9)).toBe('2h');
    expect(fmtTick(500e6)).toBe('500ms');
    expect(fmtTick(0)).toBe('0');
  });
});
