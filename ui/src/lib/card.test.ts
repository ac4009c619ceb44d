import { describe, expect, it } from 'vitest';
import { looksLikeCard } from './card';

describe('looksLikeCard', () => {
  it('accepts 8+ digits, with group separators', () => {
    expect(looksLikeCard('2900000000017')).toBe(true);
    expect(looksLikeCard('2 900000 000017')).toBe(true);
    expect(looksLikeCard(' 12345678 ')).toBe(true);
    expect(looksLikeCard('1234-5678')).toBe(true);
  });
  it('rejects names, short numbers and mixed text', () => {
    expect(looksLikeCard('1234567')).toBe(false);
    expect(looksLikeCard('smith')).toBe(false);
    expect(looksLikeCard('555 12x4567')).toBe(false);
    expect(looksLikeCard('')).toBe(false);
  });
});
