import { describe, expect, it } from 'vitest';
import { termValue, withTerm } from './pickers';

describe('service and operation pickers', () => {
  it('write a term into the query, replacing an earlier one', () => {
    expect(withTerm('', 'service_name', 'cart')).toBe('service_name:cart');
    expect(withTerm('duration>250ms', 'service_name', 'cart')).toBe('duration>250ms service_name:cart');
    expect(withTerm('service_name:email duration>1s', 'service_name', 'cart')).toBe('duration>1s service_name:cart');
    expect(withTerm('span_name:"GET /cart" x:1', 'span_name', 'POST /checkout')).toBe('x:1 span_name:"POST /checkout"');
    expect(withTerm('service_name:email status_code:error', 'service_name', null)).toBe('status_code:error');
  });
  it('leave other keys that end the same alone', () => {
    expect(withTerm('resource.service_name:x', 'service_name', 'cart')).toBe('resource.service_name:x service_name:cart');
  });
  it('read the current value back', () => {
    expect(termValue('a:1 span_name:"GET /cart"', 'span_name')).toBe('GET /cart');
    expect(termValue('service_name:cart', 'service_name')).toBe('cart');
    expect(termValue('x', 'service_name')).toBe(null);
  });
});
