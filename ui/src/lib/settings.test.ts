import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, parseSettings, scannerOptions } from './settings';

describe('parseSettings', () => {
  it('falls back to defaults on nothing or garbage', () => {
    expect(parseSettings(null)).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('{not json')).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('[1,2]')).toEqual(DEFAULT_SETTINGS);
  });
  it('keeps valid values and clamps or drops bad ones', () => {
    const s = parseSettings(
      JSON.stringify({ largeText: true, highContrast: 'yes', scanner: { maxGapMs: 500, terminator: 'Tab', prefix: ']E0', suffix: 'a very long suffix' } }),
    );
    expect(s.largeText).toBe(true);
    expect(s.highContrast).toBe(false);
    expect(s.scanner).toEqual({ maxGapMs: 80, terminator: 'Tab', prefix: ']E0', suffix: '' });
    expect(parseSettings(JSON.stringify({ scanner: { maxGapMs: 2 } })).scanner.maxGapMs).toBe(10);
  });
  it('keeps a known language and falls back to the shop\'s for anything else', () => {
    expect(parseSettings(JSON.stringify({ language: 'de' })).language).toBe('de');
    expect(parseSettings(JSON.stringify({ language: 'en' })).language).toBe('en');
    expect(parseSettings(JSON.stringify({ language: 'xx' })).language).toBe('shop');
    expect(parseSettings(JSON.stringify({ language: 7 })).language).toBe('shop');
    expect(parseSettings(null).language).toBe('shop');
  });
});

describe('scannerOptions', () => {
  it('scales the tolerances with a slower threshold, never below the defaults', () => {
    expect(scannerOptions(DEFAULT_SETTINGS)).toMatchObject({ maxGapMs: 30, maxEnterGapMs: 50, maxJitterGapMs: 60 });
    const slow = { ...DEFAULT_SETTINGS, scanner: { ...DEFAULT_SETTINGS.scanner, maxGapMs: 60 } };
    expect(scannerOptions(slow)).toMatchObject({ maxGapMs: 60, maxEnterGapMs: 100, maxJitterGapMs: 120 });
  });
});
