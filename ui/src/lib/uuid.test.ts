import { describe, expect, it } from 'vitest';
import { uuidv7 } from './uuid';

describe('uuidv7', () => {
  it('has the version and variant bits and the time up front', () => {
    const id = uuidv7(0x0190_1234_5678, (b) => b.fill(0xff));
    expect(id).toBe('01901234-5678-7fff-bfff-ffffffffffff');
  });
  it('sorts by time', () => {
    expect(uuidv7(1000) < uuidv7(2000)).toBe(true);
  });
});
