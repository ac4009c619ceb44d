// Tells a USB barcode scanner from a person typing, by timing alone.
//
// A keyboard-wedge scanner "types" the code, one key every few milliseconds,
// then presses Enter. People are much slower: even fast typists rarely put
// several keys in a row less than 30 ms apart. So a *burst* is at least
// `minLength` printable characters, each arriving less than `maxGapMs` after
// the previous one, terminated by Enter (itself arriving less than
// `maxEnterGapMs` after the last character), and containing a digit (every
// card number does; machine-typed words do not).
//
// A loaded machine can deliver one key late, so once a burst is established
// (two fast keys) a single gap up to `maxJitterGapMs` is tolerated while the
// burst's average gap stays under `maxGapMs`. People never average < 30 ms
// per key, so this does not let typing through. The very first key can be
// the late one too (the burst is not established yet): a lone key less than
// `maxLateFirstMs` before a burst that qualifies on its own joins it, when
// the average gap with it stays under `maxGapMs`, and only when nothing was
// typed in the `minIdleBeforeMs` before it (the last key of a person's
// typing never joins; neither do the till's shortcut keys `*`, `+`, `-`, `/`).
//
// This module is pure: it is fed (key, timestamp) pairs and says what it
// saw. The DOM side (what to restore, what to prevent) lives in
// `scannerListener.ts`.

/** Maximum gap between two keys of one scanner burst, in milliseconds. */
export const SCAN_MAX_GAP_MS = 30;
/** Maximum gap between the last character and the terminating Enter. */
export const SCAN_MAX_ENTER_GAP_MS = 50;
/**
 * Largest single gap tolerated *inside* an established burst (a busy machine
 * can delay one key), as long as the burst's average gap stays under
 * `maxGapMs`. A burst is established once two keys arrived fast.
 */
export const SCAN_MAX_JITTER_GAP_MS = 60;
/**
 * Longest delay of a burst's first key that still joins it (see above). A
 * loaded 2-core till was measured delivering the first key 60-150 ms late.
 */
export const SCAN_MAX_LATE_FIRST_MS = 150;
/** Quiet time before a lone key for it to count as a scan's late first key. */
export const SCAN_MIN_IDLE_BEFORE_MS = 300;
/** Fewest characters a scanned code can have. */
export const SCAN_MIN_LENGTH = 4;

export interface ScannerOptions {
  maxGapMs: number;
  maxEnterGapMs: number;
  maxJitterGapMs: number;
  /** Longest delay of a lone first key that may still join the burst after it. */
  maxLateFirstMs: number;
  /** Quiet time needed before such a lone key (a person typing is never quiet that long). */
  minIdleBeforeMs: number;
  minLength: number;
  /**
   * Only codes with at least one digit count as scans. Every card (EAN-13 or
   * legacy) carries digits, while fast machine-typed words ("smith" + Enter
   * from an input method, a macro or a test driver) do not.
   */
  requireDigit: boolean;
  /** The key the scanner ends a code with: Enter (the usual) or Tab. */
  terminator: 'Enter' | 'Tab';
  /** Characters some scanners send before every code (e.g. an AIM id "]E0"); removed from the code. */
  prefix: string;
  /** Characters some scanners send after every code, before the terminator; removed from the code. */
  suffix: string;
}

export const DEFAULT_SCANNER_OPTIONS: ScannerOptions = {
  maxGapMs: SCAN_MAX_GAP_MS,
  maxEnterGapMs: SCAN_MAX_ENTER_GAP_MS,
  maxJitterGapMs: SCAN_MAX_JITTER_GAP_MS,
  maxLateFirstMs: SCAN_MAX_LATE_FIRST_MS,
  minIdleBeforeMs: SCAN_MIN_IDLE_BEFORE_MS,
  minLength: SCAN_MIN_LENGTH,
  requireDigit: true,
  terminator: 'Enter',
  prefix: '',
  suffix: '',
};

/** The code with the scanner's configured prefix and suffix taken off (when present). */
export function stripAffixes(code: string, prefix: string, suffix: string): string {
  let c = code;
  if (prefix && c.startsWith(prefix)) c = c.slice(prefix.length);
  if (suffix && c.endsWith(suffix)) c = c.slice(0, c.length - suffix.length);
  return c;
}

/**
 * What one key meant:
 * - `start`: a printable key that may begin a burst (the previous sequence,
 *   if any, is over). The caller should remember the state of the page
 *   *before* this key takes effect, to undo it if a burst follows.
 * - `continue`: a printable key arriving fast after the previous one; part of
 *   a possible burst. Not a human keystroke for shortcut purposes.
 * - `scan`: Enter terminating a burst; `code` holds the characters. The
 *   caller should swallow this Enter and undo what the burst typed.
 * - `other`: anything else (a slow Enter, a modifier chord, a control key).
 */
export type ScanEvent =
  | { kind: 'start' }
  | { kind: 'continue'; length: number }
  | {
      kind: 'scan';
      code: string;
      startedAt: number;
      /**
       * The burst's first key arrived late and was taken as a lone key
       * (another `start` before this burst's `start`): the page state to
       * restore is the one from before that earlier key.
       */
      prefixed?: true;
    }
  | { kind: 'other' };

export interface KeyModifiers {
  ctrl?: boolean;
  alt?: boolean;
  meta?: boolean;
  /** An auto-repeat event (a key held down), which never belongs to a scan. */
  repeat?: boolean;
  /** An IME composition is in progress. */
  composing?: boolean;
}

/** The till's shortcut keys: typed by people, never the late first key of a scan. */
const NEVER_LATE_FIRST = new Set(['*', '+', '-', '/']);

/** Keys that a scanner may press around characters without breaking a burst. */
const TRANSPARENT_KEYS = new Set(['Shift', 'CapsLock']);

/** A single printable character (what a scanner types), not "Enter" or "F2". */
export function isPrintable(key: string): boolean {
  // `key` is one code point for printable keys; named keys are longer words.
  return [...key].length === 1 && key >= ' ';
}

export class ScanDetector {
  readonly options: ScannerOptions;
  private buffer = '';
  private startedAt = 0;
  private lastAt = Number.NEGATIVE_INFINITY;
  /** A lone key just before the current sequence, which may be its late first key. */
  private prefix: { key: string; at: number } | null = null;
  /** Gap before the current sequence's first key (Infinity after a reset). */
  private idleBefore = Number.POSITIVE_INFINITY;

  constructor(options: Partial<ScannerOptions> = {}) {
    this.options = { ...DEFAULT_SCANNER_OPTIONS, ...options };
  }

  /** Forget any partial sequence. */
  reset(): void {
    this.buffer = '';
    this.lastAt = Number.NEGATIVE_INFINITY;
    this.prefix = null;
  }

  /** The characters of the sequence in progress (for tests and debugging). */
  get pending(): string {
    return this.buffer;
  }

  /**
   * A slower key keeps an established burst going when it is only jitter:
   * under the jitter limit, with the average gap still scanner-fast.
   */
  private tolerates(gap: number): boolean {
    const n = this.buffer.length;
    if (n < 2 || gap >= this.options.maxJitterGapMs) return false;
    const span = this.lastAt - this.startedAt + gap;
    return span / n < this.options.maxGapMs;
  }

  feed(key: string, at: number, mods: KeyModifiers = {}): ScanEvent {
    if (mods.composing) {
      this.reset();
      return { kind: 'other' };
    }
    if (TRANSPARENT_KEYS.has(key)) {
      return { kind: 'other' };
    }
    const gap = at - this.lastAt;
    if (key === this.options.terminator) {
      const isScan =
        !mods.ctrl &&
        !mods.alt &&
        !mods.meta &&
        !mods.repeat &&
        this.buffer.length >= this.options.minLength &&
        (!this.options.requireDigit || /\d/.test(this.buffer)) &&
        gap >= 0 &&
        (gap < this.options.maxEnterGapMs || this.tolerates(gap));
      const code = this.buffer;
      const startedAt = this.startedAt;
      const p = this.prefix;
      // The lone key before joins when the whole stays scanner-fast on average.
      const joins = isScan && p !== null && (this.lastAt - p.at) / code.length < this.options.maxGapMs;
      this.reset();
      if (!isScan) return { kind: 'other' };
      const { prefix, suffix } = this.options;
      return joins && p
        ? { kind: 'scan', code: stripAffixes(p.key + code, prefix, suffix), startedAt: p.at, prefixed: true }
        : { kind: 'scan', code: stripAffixes(code, prefix, suffix), startedAt };
    }
    if (!isPrintable(key) || mods.ctrl || mods.alt || mods.meta) {
      this.reset();
      return { kind: 'other' };
    }
    if (mods.repeat) {
      // Holding a key down repeats it quickly; that is a person, not a scanner.
      this.reset();
      return { kind: 'other' };
    }
    if (this.buffer.length > 0 && gap >= 0 && (gap < this.options.maxGapMs || this.tolerates(gap))) {
      this.buffer += key;
      this.lastAt = at;
      return { kind: 'continue', length: this.buffer.length };
    }
    // A lone key shortly before may be this sequence's late first key.
    this.prefix =
      this.buffer.length === 1 &&
      !NEVER_LATE_FIRST.has(this.buffer) &&
      this.idleBefore >= this.options.minIdleBeforeMs &&
      gap >= 0 &&
      gap < this.options.maxLateFirstMs
        ? { key: this.buffer, at: this.startedAt }
        : null;
    this.idleBefore = gap;
    this.buffer = key;
    this.startedAt = at;
    this.lastAt = at;
    return { kind: 'start' };
  }
}
