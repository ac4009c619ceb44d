import { describe, expect, it } from 'vitest';
import { change, periodRange } from './period';

describe('periodRange', () => {
  const today = new Date(2026, 10, 25); // 25 Nov 2026, local time
  it('counts the last 7 days including today', () => {
    expect(periodRange('last7', today)).toEqual({ from: '2026-11-19', to: '2026-11-25' });
  });
  it('gives this and last calendar month', () => {
    expect(periodRange('this_month', today)).toEqual({ from: '2026-11-01', to: '2026-11-25' });
    expect(periodRange('last_month', today)).toEqual({ from: '2026-10-01', to: '2026-10-31' });
  });
  it('handles January (last month is last year December)', () => {
    expect(periodRange('last_month', new Date(2027, 0, 3))).toEqual({ from: '2026-12-01', to: '2026-12-31' });
  });
});

describe('change', () => {
  it('shows signed percentages and the edge cases', () => {
    expect(change(110, 100)).toBe('+10%');
    expect(change(95, 100)).toBe('−5%');
    expect(change(5, 0)).toBe('new');
    expect(change(0, 0)).toBe('±0%');
  });
});
