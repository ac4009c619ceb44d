import { describe, expect, it } from 'vitest';
import { safeLocale, money, relativeDate, visitsLine, followUpState, parseIso, formatCard, isoDay } from './format';

const now = new Date(2025, 5, 15, 14, 0, 0); // 15 June 2025, local

describe('format', () => {
  it('falls back when the system language is not a locale', () => {
    expect(safeLocale('C')).toBe('en-US');
    expect(safeLocale('')).toBe('en-US');
    expect(safeLocale(null)).toBe('en-US');
    expect(safeLocale('en_GB.UTF-8')).toBe('en-GB');
    expect(safeLocale('fr-CA')).toBe('fr-CA');
  });

  it('formats money from cents', () => {
    expect(money(123456, 'en-US', 'USD')).toBe('$1,234.56');
    expect(money(5, 'en-US', 'USD')).toBe('$0.05');
  });

  it('parses bare dates as local days', () => {
    const d = parseIso('2025-06-14');
    expect(d?.getDate()).toBe(14);
    expect(parseIso('nonsense')).toBeNull();
  });

  it('says relative dates people understand', () => {
    expect(relativeDate('2025-06-15T09:00:00', now, 'en')).toBe('today');
    expect(relativeDate('2025-06-14', now, 'en')).toBe('yesterday');
    expect(relativeDate('2025-06-12', now, 'en')).toBe('3 days ago');
    expect(relativeDate('2025-05-25', now, 'en')).toBe('3 weeks ago');
    expect(relativeDate('2025-02-15', now, 'en')).toBe('4 months ago');
    expect(relativeDate('2023-06-01', now, 'en')).toBe('2 years ago');
    expect(relativeDate('2025-06-16', now, 'en')).toBe('tomorrow');
    expect(relativeDate('2025-06-20', now, 'en')).toBe('in 5 days');
    expect(relativeDate(null, now, 'en')).toBe('never');
  });

  it('summarises visits', () => {
    expect(visitsLine(12, '2025-06-12', now, 'en')).toBe('12 visits · last 3 days ago');
    expect(visitsLine(1, '2025-06-14', now, 'en')).toBe('1 visit · last yesterday');
    expect(visitsLine(0, null, now, 'en')).toBe('no visits yet');
  });

  it('classifies follow-ups', () => {
    expect(followUpState('2025-06-10', now)).toBe('due');
    expect(followUpState('2025-06-15', now)).toBe('due');
    expect(followUpState('2025-06-20', now)).toBe('soon');
    expect(followUpState('2025-08-01', now)).toBe('later');
    expect(followUpState(null, now)).toBe('none');
  });

  it('groups card numbers', () => {
    expect(formatCard('2900000000017')).toBe('2 900000 000017');
    expect(formatCard('LC-042')).toBe('LC-042');
    expect(formatCard(null)).toBe('—');
  });

  it('gives local ISO days', () => {
    expect(isoDay(now)).toBe('2025-06-15');
  });
});

describe('configureFormat', () => {
  it('shows money and numbers in the shop\'s currency and locale', async () => {
    const f = await import('./format');
    f.configureFormat('de-DE', 'EUR');
    expect(f.money(123456).replace(/\s/g, ' ')).toBe('1.234,56 €');
    expect(f.count(2000)).toBe('2.000');
    f.configureFormat('en-US', 'USD');
    expect(f.money(123456)).toBe('$1,234.56');
    f.configureFormat(null, 'not a code');
    expect(f.money(100)).toBe('$1.00');
  });
});
