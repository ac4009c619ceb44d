// This till's own preferences: display (large text, high contrast), the
// language it speaks (the shop's, or its own) and how its barcode scanner talks. They belong to the device, not the shop (two
// tills can have different scanners), so they live in the window's local
// storage, not in the shared store. Parsing is defensive: anything missing
// or malformed falls back to the default, so a bad value never breaks the till.

import { DEFAULT_SCANNER_OPTIONS, type ScannerOptions } from './scanner';
import { LANGUAGES, type LanguageCode } from './i18n';

export interface TillSettings {
  largeText: boolean;
  highContrast: boolean;
  /** 'shop' follows the shop's locale; a language code overrides it on this till. */
  language: LanguageCode | 'shop';
  scanner: Pick<ScannerOptions, 'maxGapMs' | 'terminator' | 'prefix' | 'suffix'>;
}

export const DEFAULT_SETTINGS: TillSettings = {
  largeText: false,
  highContrast: false,
  language: 'shop',
  scanner: {
    maxGapMs: DEFAULT_SCANNER_OPTIONS.maxGapMs,
    terminator: DEFAULT_SCANNER_OPTIONS.terminator,
    prefix: DEFAULT_SCANNER_OPTIONS.prefix,
    suffix: DEFAULT_SCANNER_OPTIONS.suffix,
  },
};

/** Burst threshold bounds: below 10 ms real scanners miss; above 80 ms fast typists count as scans. */
export const MIN_GAP_MS = 10;
export const MAX_GAP_MS = 80;
const MAX_AFFIX = 8;

const KEY = 'regulars.till-settings';

export function parseSettings(raw: string | null): TillSettings {
  const d = DEFAULT_SETTINGS;
  let v: Record<string, unknown> = {};
  try {
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    if (parsed && typeof parsed === 'object') v = parsed as Record<string, unknown>;
  } catch {
    // keep defaults
  }
  const sc = (v.scanner && typeof v.scanner === 'object' ? v.scanner : {}) as Record<string, unknown>;
  const gap = Number(sc.maxGapMs);
  const affix = (x: unknown) => (typeof x === 'string' && x.length <= MAX_AFFIX && !/[\s]/.test(x) ? x : '');
  return {
    largeText: v.largeText === true,
    highContrast: v.highContrast === true,
    language: (LANGUAGES as unknown[]).includes(v.language) ? (v.language as LanguageCode) : 'shop',
    scanner: {
      maxGapMs: Number.isFinite(gap) ? Math.min(MAX_GAP_MS, Math.max(MIN_GAP_MS, Math.round(gap))) : d.scanner.maxGapMs,
      terminator: sc.terminator === 'Tab' ? 'Tab' : 'Enter',
      prefix: affix(sc.prefix),
      suffix: affix(sc.suffix),
    },
  };
}

export function loadSettings(storage: Pick<Storage, 'getItem'> | null = globalThis.localStorage ?? null): TillSettings {
  try {
    return parseSettings(storage?.getItem(KEY) ?? null);
  } catch {
    return DEFAULT_SETTINGS;
  }
}

export function saveSettings(s: TillSettings, storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null) {
  storage?.setItem(KEY, JSON.stringify(s));
}

/** Puts the display preferences on the page (classes on <html>, styled in app.css). */
export function applyDisplay(s: TillSettings, root: HTMLElement = document.documentElement) {
  root.classList.toggle('large-text', s.largeText);
  root.classList.toggle('high-contrast', s.highContrast);
}

/** Scanner options for the listener: the defaults with this till's overrides. */
export function scannerOptions(s: TillSettings): Partial<ScannerOptions> {
  const d = DEFAULT_SCANNER_OPTIONS;
  // The tolerances scale with the threshold so a slower scanner keeps the
  // same headroom for one late key (never tighter than the defaults).
  const scale = Math.max(1, s.scanner.maxGapMs / d.maxGapMs);
  return {
    ...s.scanner,
    maxEnterGapMs: Math.round(d.maxEnterGapMs * scale),
    maxJitterGapMs: Math.round(d.maxJitterGapMs * scale),
  };
}
